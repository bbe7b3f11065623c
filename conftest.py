"""The reference project needs nothing of its own here: the obsharness pytest plugin
(installed with the package) registers every step sentence, as it does in a team's repository."""

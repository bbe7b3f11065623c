"""`obsharness init`: a team's repository, scaffolded around the monitoring code it has."""

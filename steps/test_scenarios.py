"""Binds every feature file under features/ to pytest; the steps live in the *_steps modules.

The whole folder, not a list of names: a team's own .feature file runs
without anyone editing this file, and none is silently left out.
"""

from pytest_bdd import scenarios

scenarios(".")

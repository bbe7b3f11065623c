"""Binds every feature file to pytest; the steps live in the *_steps modules."""

from pytest_bdd import scenarios

scenarios("alerting.feature", "config_validation.feature", "metrics_collection.feature",
          "practical_case.feature", "visualisation.feature", "log_ingestion.feature",
          "infrastructure.feature")

"""Root conftest: the step modules are pytest plugins, so every feature can use every step."""

pytest_plugins = [
    "steps.common_steps",
    "steps.alerting_steps",
    "steps.config_steps",
    "steps.metrics_steps",
    "steps.practical_case_steps",
    "steps.visualisation_steps",
    "steps.logs_steps",
    "steps.infrastructure_steps",
    "steps.replay_steps",
]

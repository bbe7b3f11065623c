"""The step library: every Gherkin sentence obsharness understands, one module per flow.

The pytest plugin registers these modules (obsharness.pytest_plugin.STEP_MODULES), so a
repository that installs obsharness needs no conftest of its own to use them. Each step
parses its sentence and calls the library; logic two steps share lives outside this package.
"""

"""Static findings as reviewers read them: a stable check id, a severity, the origin
file and line, the rule, route or panel, and the underlying tool's own message; written
as GitHub annotations and SARIF by `obsharness check`."""

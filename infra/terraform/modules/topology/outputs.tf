output "rules" {
  description = "One ingress rule per host and port: {host, component, port, sources}."
  value       = concat(local.component_rules, local.ssh_rules)

  precondition {
    condition     = length(setsubtract(local.placed, keys(local.components))) == 0
    error_message = "placement names components that are not in the manifest: ${join(", ", setsubtract(local.placed, keys(local.components)))}."
  }
  precondition {
    condition     = length(setsubtract(local.deployed, local.placed)) == 0
    error_message = "manifest components placed on no host: ${join(", ", setsubtract(local.deployed, local.placed))}."
  }
  precondition {
    condition     = contains(local.log_agents, var.log_agent)
    error_message = "log_agent ${var.log_agent} is not a log-agent component of the manifest (${join(", ", local.log_agents)})."
  }
}

output "components_by_host" {
  description = "Host role -> deployed components on it."
  value       = { for host, comps in var.placement : host => [for c in comps : c if contains(local.deployed, c)] }
}

output "deployed" {
  description = "Every manifest component that is deployed somewhere."
  value       = sort(tolist(local.deployed))
}

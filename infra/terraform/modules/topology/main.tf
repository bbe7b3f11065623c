# Provider-free: turns the stack manifest and the placement into firewall
# rules. It needs no cloud provider, so the harness plans and tests it for real
# everywhere, and the security module only applies what it computes.

terraform {
  required_version = ">= 1.9"
}

locals {
  manifest   = yamldecode(file(var.manifest_path))
  components = local.manifest.components
  log_agents = [for name, c in local.components : name if c.role == "log-agent"]
  # Every component is deployed except the log agents not chosen: two agents
  # would ship every line twice.
  deployed = toset([for name in keys(local.components) : name if !contains(local.log_agents, name) || name == var.log_agent])
  placed   = toset(flatten(values(var.placement)))

  public_components = toset(["node-app", "grafana"])
  admin_components  = toset(["prometheus", "alertmanager"])

  component_rules = flatten([
    for host, comps in var.placement : [
      for name in comps : {
        host      = host
        component = name
        port      = local.components[name].port
        sources = (contains(local.public_components, name) ? var.user_cidrs :
        contains(local.admin_components, name) ? [var.admin_cidr] : [var.vpc_cidr])
      } if contains(local.deployed, name)
    ]
  ])
  ssh_rules = [
    for host in keys(var.placement) : {
      host      = host
      component = "ssh"
      port      = 22
      sources   = [var.admin_cidr]
    }
  ]
}

output "ansible_inventory" {
  description = "Ansible inventory (YAML): one group per host role, the components each host runs."
  value       = module.inventory.yaml
}

output "host_names" {
  description = "The hosts created, by role."
  value       = keys(var.placement)
}

output "open_ports" {
  description = "Every TCP port opened in the security groups, with the networks it is open to."
  value = {
    for rule in module.topology.rules : "${rule.host}:${rule.port}" => rule.sources
  }
}

output "ssh_sources" {
  description = "Networks SSH is open to, per host: only admin_cidr."
  value       = { for rule in module.topology.rules : rule.host => rule.sources if rule.port == 22 }
}

output "public_ips" {
  description = "Public address of each host."
  value       = module.compute.public_ips
}

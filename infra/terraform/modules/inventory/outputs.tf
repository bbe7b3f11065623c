output "yaml" {
  description = "The Ansible inventory as YAML."
  value       = yamlencode(local.inventory)
}

output "inventory" {
  description = "The Ansible inventory as an object (for tests)."
  value       = local.inventory
}

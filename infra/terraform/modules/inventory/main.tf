# Provider-free: turns the hosts Terraform created into Ansible's inventory.
# `terraform output -raw ansible_inventory > infra/ansible/inventory/hosts.yml`.

terraform {
  required_version = ">= 1.9"
}

locals {
  # Each component's addresses (node-exporter runs on every host).
  service_hosts = {
    for name in distinct(flatten([for h in values(var.hosts) : h.components])) :
    name => [for host, h in var.hosts : h.private_ip if contains(h.components, name)]
  }
  inventory = {
    all = {
      vars = {
        ansible_user      = var.ssh_user
        obs_log_agent     = var.log_agent
        obs_service_hosts = local.service_hosts
      }
      children = {
        for host, h in var.hosts : host => {
          hosts = {
            "obs-${host}" = {
              ansible_host   = h.public_ip
              private_ip     = h.private_ip
              obs_components = h.components
            }
          }
        }
      }
    }
  }
}

# Runs without any provider: the harness executes it in `make test`.

variables {
  ssh_user  = "admin"
  log_agent = "alloy"
  hosts = {
    monitoring = { public_ip = "192.0.2.10", private_ip = "10.42.1.10", components = ["prometheus", "node-exporter"] }
    apps       = { public_ip = "192.0.2.11", private_ip = "10.42.1.11", components = ["flask-app", "node-exporter"] }
  }
}

run "one_group_per_host_with_its_components" {
  command = plan

  assert {
    condition     = output.inventory.all.children.apps.hosts["obs-apps"].obs_components == tolist(["flask-app", "node-exporter"])
    error_message = "the apps host does not carry its components"
  }
  assert {
    condition     = output.inventory.all.children.monitoring.hosts["obs-monitoring"].ansible_host == "192.0.2.10"
    error_message = "Ansible must connect to the public address"
  }
}

run "every_address_of_a_component" {
  command = plan

  assert {
    condition     = toset(output.inventory.all.vars.obs_service_hosts["node-exporter"]) == toset(["10.42.1.10", "10.42.1.11"])
    error_message = "node-exporter runs on both hosts"
  }
  assert {
    condition     = output.inventory.all.vars.obs_service_hosts["prometheus"] == ["10.42.1.10"]
    error_message = "prometheus runs on the monitoring host only"
  }
}

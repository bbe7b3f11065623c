# Runs without any provider: the harness executes it in `make test`.

variables {
  manifest_path = "../../../../stack/stack.yaml"
  placement = {
    monitoring = ["prometheus", "alertmanager", "grafana", "loki", "node-exporter"]
    apps       = ["flask-app", "node-app", "fastapi-app", "alloy", "node-exporter"]
    database   = ["postgres", "postgres-exporter", "node-exporter"]
  }
  log_agent  = "alloy"
  admin_cidr = "198.51.100.0/24"
  user_cidrs = ["203.0.113.0/24"]
  vpc_cidr   = "10.42.0.0/16"
}

run "ports_are_the_manifest_ports" {
  command = plan

  assert {
    condition     = toset([for r in output.rules : r.port]) == toset([22, 3000, 3100, 5000, 5432, 8000, 9090, 9093, 9100, 9187, 12345])
    error_message = "the rules open other ports than the manifest's deployed components and SSH"
  }
}

run "ssh_only_from_admin" {
  command = plan

  assert {
    condition     = alltrue([for r in output.rules : r.sources == ["198.51.100.0/24"] if r.port == 22])
    error_message = "SSH is open to something else than admin_cidr"
  }
  assert {
    condition     = length([for r in output.rules : r if r.port == 22]) == 3
    error_message = "every host needs exactly one SSH rule"
  }
}

run "promtail_is_not_deployed_beside_alloy" {
  command = plan

  assert {
    condition     = !contains(output.deployed, "promtail") && contains(output.deployed, "alloy")
    error_message = "exactly one log agent must be deployed"
  }
}

run "world_ssh_is_refused" {
  command = plan

  variables {
    admin_cidr = "0.0.0.0/0"
  }
  expect_failures = [var.admin_cidr]
}

run "an_unplaced_component_is_refused" {
  command = plan

  variables {
    placement = {
      monitoring = ["prometheus", "alertmanager", "grafana", "loki", "node-exporter"]
      apps       = ["flask-app", "node-app", "fastapi-app", "alloy"]
    }
  }
  expect_failures = [output.rules]
}

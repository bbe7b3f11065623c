# Needs the hashicorp/aws provider plugin (mocked, but its schema is needed):
# the harness runs it where `terraform init` can install providers and skips
# it with the reason elsewhere.

mock_provider "aws" {
  mock_data "aws_ami" {
    defaults = {
      id = "ami-0123456789abcdef0"
    }
  }
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["eu-west-3a"]
    }
  }
}

variables {
  admin_cidr           = "198.51.100.0/24"
  user_cidrs           = ["203.0.113.0/24"]
  flow_logs_bucket_arn = "arn:aws:s3:::example-flow-logs"
}

run "three_hosts" {
  command = plan

  assert {
    condition     = length(output.host_names) == 3
    error_message = "the stack runs on three hosts"
  }
}

run "only_the_architecture_ports" {
  command = plan

  assert {
    condition     = toset([for k, v in output.open_ports : tonumber(split(":", k)[1])]) == toset([22, 3000, 3100, 5000, 5432, 8000, 9090, 9093, 9100, 9187, 12345])
    error_message = "the plan opens ports that are not the architecture's"
  }
}

run "no_public_ssh" {
  command = plan

  assert {
    condition     = alltrue([for host, sources in output.ssh_sources : !contains(sources, "0.0.0.0/0")])
    error_message = "SSH must never be open to 0.0.0.0/0"
  }
}

run "world_admin_cidr_is_refused" {
  command = plan

  variables {
    admin_cidr = "0.0.0.0/0"
  }
  expect_failures = [var.admin_cidr]
}

# One security group per host; every ingress rule comes from the topology
# module (manifest ports, admin-only SSH). Nothing here opens a port by hand.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

locals {
  ingress = {
    for pair in flatten([
      for rule in var.rules : [
        for cidr in rule.sources : merge(rule, { cidr = cidr })
      ]
    ]) : "${pair.host}-${pair.port}-${pair.cidr}" => pair
  }
}

resource "aws_security_group" "host" {
  #checkov:skip=CKV2_AWS_5:attached to the instances in the compute module (vpc_security_group_ids); checkov does not follow a module's outputs
  for_each = toset(var.hosts)

  name        = "obsharness-${each.key}"
  description = "obsharness ${each.key} host"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "port" {
  for_each = local.ingress

  security_group_id = aws_security_group.host[each.value.host].id
  description       = "${each.value.component} on ${each.value.host}"
  cidr_ipv4         = each.value.cidr
  from_port         = each.value.port
  to_port           = each.value.port
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "all" {
  for_each = toset(var.hosts)

  security_group_id = aws_security_group.host[each.key].id
  description       = "image pulls, package installs, notifications"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

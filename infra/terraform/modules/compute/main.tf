# One Debian 12 instance per host role; Ansible installs Docker and the stack.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

data "aws_ami" "debian" {
  most_recent = true
  owners      = ["136693071363"] # Debian's official AWS account

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
}

# A role with no policy: the hosts get no AWS credentials unless a team attaches
# a policy to it on purpose (instead of keys copied onto a host).
resource "aws_iam_role" "host" {
  name = "obsharness-host"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ec2.amazonaws.com" }
    }]
  })
}

resource "aws_iam_instance_profile" "host" {
  name = "obsharness-host"
  role = aws_iam_role.host.name
}

resource "aws_instance" "host" {
  for_each = toset(var.hosts)

  ami                    = data.aws_ami.debian.id
  instance_type          = var.instance_types[each.key]
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [var.security_group_ids[each.key]]
  key_name               = var.ssh_key_name
  iam_instance_profile   = aws_iam_instance_profile.host.name
  ebs_optimized          = true
  # One-minute CloudWatch metrics: the monitoring host is what tells us the rest is down.
  monitoring = true

  metadata_options {
    http_tokens = "required"
  }

  root_block_device {
    volume_size = each.key == "monitoring" ? 50 : 20
    encrypted   = true
  }

  tags = { Name = "obsharness-${each.key}", role = each.key }
}

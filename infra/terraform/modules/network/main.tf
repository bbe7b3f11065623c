# One VPC, one public subnet, an Internet gateway: the hosts need outbound
# access to pull images, and the security groups decide what comes in.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

# The zone is named, not taken from whatever the region lists first: the plan
# fails if it is not available, and a new zone never moves the hosts.
data "aws_availability_zones" "chosen" {
  state = "available"

  filter {
    name   = "zone-name"
    values = [var.availability_zone]
  }
}

resource "aws_vpc" "stack" {
  cidr_block           = var.vpc_cidr
  enable_dns_hostnames = true
  tags                 = { Name = "obsharness" }
}

# Nothing may use the VPC's default security group: every host has its own.
resource "aws_default_security_group" "closed" {
  vpc_id = aws_vpc.stack.id
  tags   = { Name = "obsharness-default-closed" }
}

# Every accepted and rejected connection, to the team's own S3 bucket.
resource "aws_flow_log" "stack" {
  vpc_id               = aws_vpc.stack.id
  traffic_type         = "ALL"
  log_destination_type = "s3"
  log_destination      = var.flow_logs_bucket_arn
  tags                 = { Name = "obsharness" }
}

resource "aws_internet_gateway" "stack" {
  vpc_id = aws_vpc.stack.id
  tags   = { Name = "obsharness" }
}

resource "aws_subnet" "public" {
  #checkov:skip=CKV_AWS_130:the hosts are reached from the users' and the admin networks and pull images without a NAT gateway; what reaches them is limited by the security groups built from the manifest
  vpc_id                  = aws_vpc.stack.id
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, 1)
  availability_zone       = data.aws_availability_zones.chosen.names[0]
  map_public_ip_on_launch = true
  tags                    = { Name = "obsharness-public" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.stack.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.stack.id
  }
  tags = { Name = "obsharness-public" }
}

resource "aws_route_table_association" "public" {
  subnet_id      = aws_subnet.public.id
  route_table_id = aws_route_table.public.id
}

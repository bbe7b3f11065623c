# One VPC, one public subnet, an Internet gateway: the hosts need outbound
# access to pull images, and the security groups decide what comes in.

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "stack" {
  cidr_block           = var.vpc_cidr
  enable_dns_hostnames = true
  tags                 = { Name = "obsharness" }
}

resource "aws_internet_gateway" "stack" {
  vpc_id = aws_vpc.stack.id
  tags   = { Name = "obsharness" }
}

resource "aws_subnet" "public" {
  vpc_id                  = aws_vpc.stack.id
  cidr_block              = cidrsubnet(var.vpc_cidr, 8, 1)
  availability_zone       = data.aws_availability_zones.available.names[0]
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

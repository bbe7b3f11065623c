# Three hosts on one VPC: monitoring (Prometheus, Alertmanager, Grafana, Loki),
# apps (the three sample apps and the log agent) and database (PostgreSQL and
# its exporter). Ports and components come from stack/stack.yaml through the
# provider-free topology module, so the firewall cannot drift from the manifest.

locals {
  manifest_path = coalesce(var.manifest_path, "${path.module}/../../stack/stack.yaml")
}

module "topology" {
  source = "./modules/topology"

  manifest_path = local.manifest_path
  placement     = var.placement
  log_agent     = var.log_agent
  admin_cidr    = var.admin_cidr
  user_cidrs    = var.user_cidrs
  vpc_cidr      = var.vpc_cidr
}

module "network" {
  source = "./modules/network"

  vpc_cidr             = var.vpc_cidr
  availability_zone    = coalesce(var.availability_zone, "${var.region}a")
  flow_logs_bucket_arn = var.flow_logs_bucket_arn
}

module "security" {
  source = "./modules/security"

  vpc_id = module.network.vpc_id
  hosts  = keys(var.placement)
  rules  = module.topology.rules
}

module "compute" {
  source = "./modules/compute"

  hosts              = keys(var.placement)
  instance_types     = var.instance_types
  subnet_id          = module.network.subnet_id
  security_group_ids = module.security.security_group_ids
  ssh_key_name       = var.ssh_key_name
}

module "inventory" {
  source = "./modules/inventory"

  hosts = {
    for name, comps in module.topology.components_by_host : name => {
      public_ip  = module.compute.public_ips[name]
      private_ip = module.compute.private_ips[name]
      components = comps
    }
  }
  ssh_user  = var.ssh_user
  log_agent = var.log_agent
}

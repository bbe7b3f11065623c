variable "region" {
  type        = string
  description = "AWS region the three hosts are created in."
  default     = "eu-west-3"
}

variable "availability_zone" {
  type        = string
  description = "Availability zone of the hosts (null: the region's zone a, e.g. eu-west-3a)."
  default     = null
}

variable "flow_logs_bucket_arn" {
  type        = string
  description = "ARN of the team's S3 bucket for the VPC flow logs (every accepted and rejected connection)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", var.flow_logs_bucket_arn))
    error_message = "flow_logs_bucket_arn must be an S3 bucket ARN such as arn:aws:s3:::my-flow-logs."
  }
}

variable "admin_cidr" {
  type        = string
  description = "The only network SSH (22) and the operators' UIs (Prometheus, Alertmanager) are reachable from."

  validation {
    condition     = can(cidrhost(var.admin_cidr, 0)) && !contains(["0.0.0.0/0", "::/0"], var.admin_cidr)
    error_message = "admin_cidr must be a real CIDR and never the whole Internet (0.0.0.0/0 or ::/0)."
  }
}

variable "user_cidrs" {
  type        = list(string)
  description = "Networks the end users come from: they reach the frontend (node-app) and Grafana."

  validation {
    condition     = alltrue([for c in var.user_cidrs : can(cidrhost(c, 0))])
    error_message = "Every entry of user_cidrs must be a CIDR such as 203.0.113.0/24."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "Address range of the stack's VPC; every internal port is open to it only."
  default     = "10.42.0.0/16"
}

variable "manifest_path" {
  type        = string
  description = "Path of stack/stack.yaml, the manifest the ports and components come from (null: the repository's)."
  default     = null
}

variable "placement" {
  type        = map(list(string))
  description = "Which manifest components run on which host. node-exporter runs on every host."
  default = {
    monitoring = ["prometheus", "alertmanager", "grafana", "loki", "node-exporter"]
    apps       = ["flask-app", "node-app", "fastapi-app", "alloy", "node-exporter"]
    database   = ["postgres", "postgres-exporter", "node-exporter"]
  }
}

variable "log_agent" {
  type        = string
  description = "The log agent deployed: alloy (Promtail reached end of life on 2026-03-02) or promtail."
  default     = "alloy"

  validation {
    condition     = contains(["alloy", "promtail"], var.log_agent)
    error_message = "log_agent must be alloy or promtail."
  }
}

variable "instance_types" {
  type        = map(string)
  description = "EC2 instance type per host; Prometheus and Loki need the most memory."
  default = {
    monitoring = "t3.large"
    apps       = "t3.medium"
    database   = "t3.medium"
  }
}

variable "ssh_key_name" {
  type        = string
  description = "Name of an existing EC2 key pair Ansible connects with."
  default     = "obsharness"
}

variable "ssh_user" {
  type        = string
  description = "Login user of the Debian 12 image, used by Ansible."
  default     = "admin"
}

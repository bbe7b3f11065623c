variable "manifest_path" {
  type        = string
  description = "Path of stack/stack.yaml."
}

variable "placement" {
  type        = map(list(string))
  description = "Host role -> manifest components running on it."
}

variable "log_agent" {
  type        = string
  description = "The log agent deployed (alloy or promtail); the other is left out."
}

variable "admin_cidr" {
  type        = string
  description = "Source network of SSH and the operators' UIs; never the whole Internet."

  validation {
    condition     = can(cidrhost(var.admin_cidr, 0)) && !contains(["0.0.0.0/0", "::/0"], var.admin_cidr)
    error_message = "admin_cidr must be a real CIDR and never the whole Internet (0.0.0.0/0 or ::/0)."
  }
}

variable "user_cidrs" {
  type        = list(string)
  description = "Source networks of the end users (frontend and Grafana)."
}

variable "vpc_cidr" {
  type        = string
  description = "The VPC's range; internal ports are open to it only."
}

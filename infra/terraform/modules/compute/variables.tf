variable "hosts" {
  type        = list(string)
  description = "Host roles, one instance each."
}

variable "instance_types" {
  type        = map(string)
  description = "Instance type per host role."
}

variable "subnet_id" {
  type        = string
  description = "Subnet the instances are placed in."
}

variable "security_group_ids" {
  type        = map(string)
  description = "Security group id per host role."
}

variable "ssh_key_name" {
  type        = string
  description = "EC2 key pair for SSH."
}

variable "vpc_id" {
  type        = string
  description = "VPC the security groups belong to."
}

variable "hosts" {
  type        = list(string)
  description = "Host roles, one security group each."
}

variable "rules" {
  type = list(object({
    host      = string
    component = string
    port      = number
    sources   = list(string)
  }))
  description = "Ingress rules computed by the topology module."
}

variable "vpc_cidr" {
  type        = string
  description = "Address range of the VPC."
}

variable "vpc_cidr" {
  type        = string
  description = "Address range of the VPC."
}

variable "availability_zone" {
  type        = string
  description = "The availability zone of the hosts' subnet, e.g. eu-west-3a."
}

variable "flow_logs_bucket_arn" {
  type        = string
  description = "ARN of the S3 bucket the VPC's flow logs go to."
}

output "vpc_id" {
  description = "The stack's VPC."
  value       = aws_vpc.stack.id
}

output "subnet_id" {
  description = "The public subnet the hosts live in."
  value       = aws_subnet.public.id
}

output "security_group_ids" {
  description = "Security group id per host role."
  value       = { for host, sg in aws_security_group.host : host => sg.id }
}

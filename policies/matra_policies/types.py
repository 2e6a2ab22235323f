"""The type tokens of every resource the program registers, as the engine names them
(the pack's rules and the project's tests both use these)."""

# DigitalOcean
DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
LOAD_BALANCER = "digitalocean:index/loadBalancer:LoadBalancer"
DATABASE_CLUSTER = "digitalocean:index/databaseCluster:DatabaseCluster"
DATABASE_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
VPC = "digitalocean:index/vpc:Vpc"
TAG = "digitalocean:index/tag:Tag"
SSH_KEY = "digitalocean:index/sshKey:SshKey"
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"
DNS_RECORD = "digitalocean:index/dnsRecord:DnsRecord"
CERTIFICATE = "digitalocean:index/certificate:Certificate"
MONITOR_ALERT = "digitalocean:index/monitorAlert:MonitorAlert"
UPTIME_CHECK = "digitalocean:index/uptimeCheck:UptimeCheck"
UPTIME_ALERT = "digitalocean:index/uptimeAlert:UptimeAlert"
DO_PROJECT = "digitalocean:index/project:Project"
REGISTRY_CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)

# MongoDB Atlas
ATLAS_PROJECT = "mongodbatlas:index/project:Project"
ATLAS_CLUSTER = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ATLAS_BACKUP_SCHEDULE = "mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule"
ATLAS_ACCESS_LIST = "mongodbatlas:index/projectIpAccessList:ProjectIpAccessList"
ATLAS_DATABASE_USER = "mongodbatlas:index/databaseUser:DatabaseUser"

# Generated secrets and remote commands
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
REMOTE_COMMAND = "command:remote:Command"

# GitHub (the github/ program)
GITHUB_BRANCH_PROTECTION = "github:index/branchProtection:BranchProtection"
GITHUB_ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
GITHUB_ACTIONS_SECRET = "github:index/actionsSecret:ActionsSecret"
GITHUB_ACTIONS_VARIABLE = "github:index/actionsVariable:ActionsVariable"
GITHUB_DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey"
GITHUB_RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
GITHUB_ENVIRONMENT_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
GITHUB_ENVIRONMENT_VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
GITHUB_ENVIRONMENT_POLICY = (
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
)
GITHUB_WORKFLOW_PERMISSIONS = (
    "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions"
)
GITHUB_ACTIONS_PERMISSIONS = (
    "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions"
)

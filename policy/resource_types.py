"""Type tokens of the pulumi-aws v7 resources the rules look at.

Only types the program creates: tests check that each one exists in pulumi-aws and that every
rule's types appear in the plans of the committed stacks. A rule for a type the program never
registers checks nothing, so it waits for the component that creates that type: no
`aws.ec2.SecurityGroupRule`, no stand-alone SQS redrive policy, no `aws.s3.BucketV2`
or its V2 configuration resources (pulumi-aws 7 deprecates BucketV2 for `aws.s3.Bucket`:
`pulumi_aws/s3/bucket_v2.py`), no `aws.alb` twins of the `aws.lb` resources the program uses
(the same resource under another type token, so a rule would have to list both:
`pulumi_aws/alb/load_balancer.py`).
"""

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RDS_GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
RDS_BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"

CACHE_REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_GLOBAL_REPLICATION_GROUP = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"

SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SQS_REDRIVE_ALLOW_POLICY = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"

S3_BUCKET = "aws:s3/bucket:Bucket"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_LOGGING = "aws:s3/bucketLogging:BucketLogging"

OPENSEARCH_DOMAIN = "aws:opensearch/domain:Domain"

CLOUDFRONT_DISTRIBUTION = "aws:cloudfront/distribution:Distribution"

LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LISTENERS = (LISTENER,)  # as a tuple for the engine's listener rule (qnom/awsrules/elb.py)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"  # phase 1's NAT instance
ASG = "aws:autoscaling/group:Group"
ASG_SCHEDULE = "aws:autoscaling/schedule:Schedule"

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
EIP = "aws:ec2/eip:Eip"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SNS_TOPIC = "aws:sns/topic:Topic"
ANOMALY_SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"
KMS_KEY = "aws:kms/key:Key"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
CLOUDFRONT_FUNCTION = "aws:cloudfront/function:Function"

EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"

K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
K8S_PDB = "kubernetes:policy/v1:PodDisruptionBudget"
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

# Resources that hold data, the one list of them: protected in prod (the policy pack's
# `stateful-resources-protected`), never deleted, moved or replaced by a promotion
# (`qnom.awsrules.force_new.promotion_hazards`), marked in `qnom plan`'s human view
# (docs/architecture.md). KMS keys and secrets count: deleting one makes what it encrypted, or
# the password it holds, unrecoverable. The global data pieces too: deleting one detaches every
# region's copy from the primary. And the cross-region copy of a writer's automated backups: the
# point-in-time restore that survives the loss of the writer's region.
STATEFUL = (
    RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE, RDS_GLOBAL_CLUSTER, RDS_BACKUP_REPLICATION,
    CACHE_REPLICATION_GROUP, CACHE_GLOBAL_REPLICATION_GROUP,
    SQS_QUEUE, S3_BUCKET, OPENSEARCH_DOMAIN, KMS_KEY, SECRET,
)

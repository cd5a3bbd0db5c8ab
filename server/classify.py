"""Is a user's prompt a CI/CD or infrastructure question? A weighted-vocabulary classifier for the prompt hook.

The `UserPromptSubmit` hook runs this on every prompt, so it must be fast and cheap to import: no model,
no network, one tokenizing regex and a few dict look-ups per word.

How it decides: the prompt is cut into lower-case words, and each run of words is looked up in `_VOCAB`,
longest phrase first (three words, two, one), which gives a weight and a topic. Positive weights are
DevOps evidence; negative ones are context that gives an ambiguous word another meaning ("deploy" near
"chess", "container" near "css", "monitor" near "desk"). Each term counts once, so a long prompt does not
win by repetition. A few regexes add what words cannot: source files, code and exception names (the
prompt is about code), infrastructure files and workflow YAML (it is about infrastructure). If the sum
reaches `_THRESHOLD` the prompt is DevOps; `score` is the sum's distance from it on a logistic curve, in
(0, 1), with 0.5 at the threshold.

Weights, roughly: 2.0 a term only DevOps people use (kubectl, OOMKilled, tfstate), enough alone; 1.2 a
tool name with an everyday meaning too (docker, helm, terraform), enough alone unless the context says
otherwise; 0.4-0.8 ordinary words that need company (deploy, pipeline, alert, backup, cost). Negative:
-1.5 a word that pins another meaning (shipyard, chess, breakup), -1.0 an everyday or data-science
domain, -0.6 plain coding.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Classification", "classify"]


@dataclass(frozen=True)
class Classification:
    """The verdict on one prompt.

    `score` is in (0, 1), 0.5 is the decision boundary. `topics` are the DevOps areas the prompt touches,
    strongest first, and empty when `is_devops` is False.
    """

    is_devops: bool
    score: float
    topics: tuple[str, ...]


_THRESHOLD = 1.0  # summed evidence at which a prompt is DevOps: one strong term, or two ordinary ones
_STEEPNESS = 2.0  # how fast the score leaves 0.5; only the reported score depends on it
_MARGIN = 10.0  # the evidence's distance from the threshold is clamped to this: exp() must not overflow
_HEAD, _TAIL = 4000, 1000  # a pasted log can be huge: the question is at its start or end
_TOPIC_MIN = 0.5  # a topic is reported when its terms add up to this much (the top one always is)

_Entry = tuple[float, str]  # (weight, topic); topic "" for negative context


def _group(topic: str, weight: float, *terms: str) -> dict[str, _Entry]:
    return dict.fromkeys(terms, (weight, topic))


def _not(weight: float, *terms: str) -> dict[str, _Entry]:
    return dict.fromkeys(terms, (-weight, ""))


# Keys are lower-case words, or phrases of two or three words, as the tokenizer splits them ("blue-green" is
# "blue green", "on-call" is "on call"). A plural is found under its singular. A phrase's weight is its
# total: it replaces the weights of its words ("canary deploy" is 2.0, not 2.0 + canary + deploy).
_VOCAB: dict[str, _Entry] = {
    # --- CI ---
    **_group("ci", 2.0, "jenkinsfile", "circleci", "buildkite", "teamcity", "cicd", "github action", "gh action",
             "gitlab ci", "azure pipeline", "bitbucket pipeline", "travis ci", "buildx", "buildkit",
             "self hosted runner", "build agent", "merge queue", "dependabot", "sbom", "cosign", "sigstore",
             "slsa", "trivy", "checkov", "tfsec", "tflint", "workflow dispatch", "github token"),
    **_group("ci", 1.2, "jenkins", "ci", "ci cd", "ci job", "ci run", "in ci", "upload artifact",
             "download artifact", "runs on", "branch protection", "protected branch", "required check",
             "status check", "smoke test", "snyk", "github workflow", "workflow file", "matrix build",
             "pipeline run", "build failed", "build failing", "build fail", "build broken", "build is red",
             "build red", "broken build", "red build", "failing build", "exit code 137", "test stage",
             "deploy stage", "build stage", "job failed"),
    **_group("ci", 1.0, "cache restore"),
    **_group("ci", 0.7, "pipeline", "pipline", "gitlab", "travis", "flaky test", "renovate", "sonarqube"),
    **_group("ci", 0.5, "runner", "executor", "artifact", "nightly", "semver", "pre commit", "lockfile",
             "workflow", "e2e", "playwright"),
    # Alone these are everyday words; they count only beside other evidence ("the build ... red since").
    **_group("ci", 0.4, "build", "red", "job", "stage", "parallelism", "cache", "on main", "main branch"),
    # --- deploy / release ---
    **_group("deploy", 2.0, "blue green", "argo rollout", "zero downtime", "progressive delivery", "spinnaker",
             "launchdarkly", "rolling update", "maxunavailable", "maxsurge", "max unavailable", "max surge",
             "canary deploy", "canary deployment", "canary release"),
    **_group("deploy", 1.2, "rollback", "roll back", "rolled back", "redeploy", "release train",
             "change freeze", "feature flag", "release phase", "gradual rollout", "manual approval",
             "waiting for approval", "deploy to", "deploy my", "deploy the", "deploy our", "deployed to",
             "deploying to", "devops", "sre", "platform team", "chaos engineering"),
    **_group("deploy", 0.8, "deploy", "deployed", "deploying", "deployment", "rollout", "prod", "canary",
             "downtime", "heroku", "vercel", "netlify", "code freeze", "hotfix", "shipped", "staging"),
    **_group("deploy", 0.5, "release", "released", "releasing", "production", "roll out", "rolling out",
             "migration", "approval", "environment", "env", "go live", "cutover", "old version", "new version",
             "revert"),
    # --- kubernetes ---
    **_group("kubernetes", 2.0, "kubectl", "k8s", "k3s", "kubelet", "statefulset", "daemonset", "replicaset",
             "configmap", "crashloopbackoff", "imagepullbackoff", "errimagepull", "oomkilled", "kustomize",
             "kustomization", "argocd", "argo cd", "fluxcd", "istio", "linkerd", "karpenter", "minikube",
             "openshift", "helm chart", "helm release", "helm upgrade", "helm install", "poddisruptionbudget",
             "pod disruption budget", "networkpolicy", "serviceaccount", "cluster autoscaler", "cert manager",
             "crash loop", "outofsync", "eks", "gke", "aks"),
    **_group("kubernetes", 1.5, "ingress", "hpa", "liveness", "readiness", "init container", "toleration",
             "service mesh", "network policy", "node drain", "back off restarting"),
    # Tool names with an everyday meaning (a ship's helm, a pea pod): enough alone, not against context.
    **_group("kubernetes", 1.2, "kubernetes", "helm", "pod", "cordon"),
    **_group("kubernetes", 0.8, "sidecar", "namespace", "evicted", "envoy", "rancher", "cronjob", "pdb",
             "replica", "manifest", "memory limit", "cpu limit", "resource limit"),
    **_group("kubernetes", 0.5, "cluster", "node", "probe", "taint", "drain", "flux", "pending", "rbac"),
    # --- containers ---
    **_group("containers", 2.0, "dockerfile", "docker compose", "podman", "distroless", "docker hub",
             "container image", "ghcr", "docker build", "docker image", "image scanning"),
    **_group("containers", 1.5, "container registry"),
    **_group("containers", 1.2, "docker", "base image", "multi stage"),
    **_group("containers", 0.6, "container", "registry", "image tag", "layer", "slim"),
    # --- infrastructure as code ---
    **_group("iac", 2.0, "tfstate", "terragrunt", "pulumi", "cloudformation", "opentofu", "crossplane",
             "saltstack", "infrastructure as code", "terraform plan", "terraform apply", "terraform state",
             "state lock", "terraform module", "ansible playbook", "terraform fmt", "cdk stack"),
    **_group("iac", 1.2, "terraform", "ansible", "iac", "hcl", "infra", "infrastructure"),
    **_group("iac", 0.8, "puppet", "playbook", "packer", "cdk", "tf", "provisioning", "provision"),
    **_group("iac", 0.5, "chef", "provider"),
    # --- cloud and servers ---
    **_group("cloud", 2.0, "ec2", "fargate", "cloudfront", "route53", "nat gateway", "load balancer",
             "autoscaling group", "availability zone", "multi az", "security group", "ecr", "gcr", "vpc",
             "aws lambda", "digitalocean", "secrets manager", "secret manager"),
    **_group("cloud", 1.2, "aws", "gcp", "azure", "rds", "s3", "alb", "elb", "nlb", "ecs", "ami", "iam",
             "subnet", "cloud run", "vps", "cloudflare", "nginx", "haproxy", "traefik", "reverse proxy",
             "systemd"),
    **_group("cloud", 1.0, "self hosting"),
    **_group("cloud", 0.8, "sqs", "sns", "dynamodb", "cdn", "dns", "vm", "autoscaling", "autoscaler",
             "autoscale", "on prem", "kafka", "gateway", "hosting", "self host", "crontab", "disk usage",
             "cpu usage", "high cpu", "cpu utilization", "memory usage", "high memory"),
    **_group("cloud", 0.4, "server", "host", "instance", "region", "scaling", "fleet", "capacity",
             "upstream", "worker", "ssh", "disk", "memory", "cron", "domain"),
    # A CPU is also a chip ("the pipeline of a CPU"); CPU load needs another word to count.
    **_group("cloud", 0.2, "cpu"),
    # --- incidents ---
    **_group("incident", 2.0, "postmortem", "post mortem", "sev0", "sev1", "sev2", "sev3", "runbook",
             "war room", "bad gateway", "gateway timeout", "service unavailable", "incident response",
             "too many clients", "no space left", "disk full", "status page"),
    **_group("incident", 1.5, "prod is down"),
    # HTTP 5xx, written as people write them: "502s", "a 503", "5xx". A bare 500 is often a number.
    **_group("incident", 1.2, "outage", "rca", "site down", "is down", "went down", "oom", "failover",
             "fail over", "degraded", "500s", "502", "503", "504", "5xx"),
    **_group("incident", 0.8, "incident", "root cause", "restart", "restarting", "restarted", "timeout",
             "timed out", "connection pool", "out of memory"),
    **_group("incident", 0.4, "since we", "since yesterday", "down", "crashed", "crashing", "spike", "spiked",
             "500", "paged", "exhausted"),
    # --- monitoring ---
    **_group("monitoring", 2.0, "prometheus", "grafana", "datadog", "new relic", "newrelic", "opentelemetry",
             "observability", "golden signal", "alertmanager", "node exporter", "cloudwatch", "error budget",
             "log aggregation", "distributed tracing", "synthetic monitoring", "apm", "kibana", "splunk"),
    **_group("monitoring", 1.5, "p50", "p90", "p95", "p99", "p999", "slo", "sli", "mttr", "mttd", "otel",
             "jaeger", "replication lag", "consumer lag", "queue depth", "dora", "uptime", "health check",
             "healthcheck", "statsd", "loki"),
    **_group("monitoring", 0.8, "monitoring", "latency", "error rate", "dashboard", "elk", "sentry", "sla",
             "tracing"),
    **_group("monitoring", 0.5, "monitor", "metric", "log", "trace", "honeycomb", "tempo", "lag", "lagging"),
    # --- alerting ---
    **_group("alerting", 2.0, "pagerduty", "opsgenie", "escalation policy", "alert fatigue", "alert rule",
             "alerting rule", "on call rotation", "budget alert", "alert noise"),
    **_group("alerting", 1.2, "on call", "oncall", "paging", "alerting"),
    **_group("alerting", 0.6, "alert", "alarm", "escalation", "pager", "notify"),
    # --- disaster recovery and availability ---
    **_group("dr", 2.0, "disaster recovery", "rto", "rpo", "point in time", "pitr",
             "high availability", "cross region", "multi region", "restore drill", "dr plan"),
    **_group("dr", 0.8, "backup", "snapshot", "replication", "restore", "restoring", "restored"),
    **_group("dr", 0.4, "disaster", "recovery", "redundancy", "failback"),
    # --- cost ---
    **_group("cost", 2.0, "finops", "rightsizing", "right sizing", "rightsize", "spot instance",
             "reserved instance", "savings plan", "cost allocation", "cost explorer", "aws bill",
             "cloud bill", "cloud cost", "aws invoice"),
    **_group("cost", 0.5, "cost", "bill", "billing", "invoice", "spend", "save money", "egress", "idle",
             "data transfer", "charges", "budget"),
    # --- security ---
    **_group("security", 2.0, "hashicorp vault", "least privilege", "waf", "leaked token", "leaked key",
             "leaked secret", "access key", "credential rotation", "secret rotation", "vulnerability scan",
             "sast", "dast", "security scan", "security scanning", "oidc"),
    **_group("security", 0.8, "secret", "leaked", "vault", "cve", "log4j", "ufw", "firewall", "harden",
             "rotation", "tls", "ssl", "cert", "certificate", "acme", "letsencrypt", "credential stuffing"),
    **_group("security", 0.4, "rotate", "token", "credential", "api key", "permission", "leak", "scan",
             "scanning", "patch", "patching"),
    # --- other meanings: context that flips an ambiguous word ---
    # Words and phrases that pin a DevOps word to another meaning: a docker in a shipyard, deploying a
    # knight, a CPU's instruction pipeline, disaster recovery after a breakup.
    **_not(1.5, "chess", "knight", "bishop", "troop", "parachute", "skydiver", "military", "army", "shipyard",
           "sailboat", "sail", "boat", "steer", "greek", "latin", "etymology", "planet", "mars", "meme",
           "breakup", "emotional", "girlfriend", "boyfriend", "birthday", "wedding", "coffee", "recipe",
           "cooking", "cook", "bake", "boil", "roast", "vegetable", "pea", "bean", "kitchen", "fridge", "bread",
           "dough", "pastry", "grocery", "groceries", "desk", "headphone", "bluetooth", "nurse", "surgery",
           "blood", "doctor", "workout", "muscle", "marathon", "shoe", "lego", "knife", "hamlet", "theatre",
           "theater", "birdhouse", "helicopter", "algae", "hubspot", "crm", "cover letter", "resume", "salary",
           "cost of living", "shipping container", "confidence interval", "entity component system",
           "pole vault", "processor", "microarchitecture", "superscalar", "instruction set", "cpu pipeline",
           "branch misprediction"),
    # Everyday and data-science domains. Softer: a real question can name its business ("our game
    # servers on GKE"), and one of these must not cancel a strong term.
    **_not(1.0, "novel", "movie", "film", "game", "gaming", "pet", "dog", "bird", "partner", "food",
           "restaurant", "iphone", "phone", "photo", "audio", "car", "roof", "house", "home", "neighbour",
           "neighbor", "patient", "school", "student", "trip", "travel", "sales", "interview", "pandas", "numpy",
           "dataframe", "csv", "sklearn", "scikit", "nltk", "classifier", "precision", "recall", "regression",
           "statistic", "statistics", "k means", "clustering", "spreadsheet", "excel"),
    # Plain coding: the prompt is about writing code, not about building, shipping or running it.
    **_not(0.6, "css", "div", "html", "react", "jsx", "tsx", "useeffect", "usestate", "component", "render",
           "rendering", "re render", "merge sort", "sort", "sorting", "algorithm", "recursion", "recursive",
           "fibonacci", "big o", "time complexity", "complexity", "regex", "docstring", "type hint",
           "variable", "refactor", "unit test", "matrix", "dict", "tuple", "linked list", "binary search",
           "graph", "networkx", "instruction", "stl", "std", "function", "method", "design pattern",
           "builder pattern", "debounce", "argparse", "off by one", "pagination", "string", "array", "loop",
           "class component", "leetcode", "typescript", "javascript", "mypy", "commit message", "node js",
           "nodejs"),
}

_WORD = re.compile(r"[a-z0-9]+")
# What words miss. Each adds its weight once however often it matches.
_PATTERNS: tuple[tuple[re.Pattern[str], float, str], ...] = (
    # Source files and code: the prompt is about code, not about running it.
    # (Framework names that end in .js are not files.)
    (re.compile(r"\b(?!(?:next|node|vue|nuxt|nest|express|react|angular|ember|deno|d3|chart|three|p5)\.js\b)"
                r"[\w/-]+\.(?:py|js|jsx|ts|tsx|java|go|rs|rb|cpp|cc|cs|php|kt|swift|c|h)\b"), -0.5, ""),
    (re.compile(r"\bdef \w+\(|\bfunction \w*\(|=>|\bclass \w+[:({]|#include|console\.log|\breturn\b"), -0.6, ""),
    (re.compile(r"traceback \(most recent call last\)|\b(?:type|value|index|key|attribute|name|syntax|"
                r"reference|zerodivision|import|modulenotfound|range)error\b|nullpointerexception"), -0.8, ""),
    # Infrastructure files: the prompt is about them whatever the words around.
    (re.compile(r"\.(?:tf|tfvars|hcl)\b|\.github/workflows|\.gitlab-ci\.ya?ml|docker-compose\.ya?ml|"
                r"\bresource \"(?:aws|google|azurerm)_|\bapiversion: |\bkind: (?:deployment|service|pod)"),
     2.0, "iac"),
    (re.compile(r"\buses: [\w.-]+/[\w.-]+@|\bruns-on: "), 2.0, "ci"),  # a GitHub Actions workflow
    (re.compile(r"\b(?:build|push|pull|tag)(?:ing|ed|s)? (?:the |our |a |my )?(?:docker |container )?images?\b"),
     0.8, "containers"),
)


def _singular(word: str) -> str:
    """Plural to singular, for look-ups only: pods -> pod, dependencies -> dependency, status stays."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# First words of the phrases: most words start none, and skipping them keeps a long paste cheap.
_STARTS = frozenset(key.partition(" ")[0] for key in _VOCAB if " " in key)


def _terms(words: list[str]) -> dict[str, _Entry]:
    """The vocabulary terms among `words`, each once, longest match first: a phrase replaces its words, so
    "disaster recovery" counts as itself, not as "disaster" plus "recovery" plus the phrase. The last word
    of a phrase is also tried as singular, since that is where a plural goes: "spot instances"."""
    found: dict[str, _Entry] = {}
    n = len(words)
    i = 0
    while i < n:
        step = 1
        for size in (3, 2, 1) if words[i] in _STARTS else (1,):
            if i + size > n:
                continue
            last = words[i + size - 1]
            head = " ".join(words[i:i + size - 1])
            keys = (last, _singular(last)) if size == 1 else (f"{head} {last}", f"{head} {_singular(last)}")
            key = next((key for key in keys if key in _VOCAB), None)
            if key is not None:
                found[key] = _VOCAB[key]
                step = size
                break
        i += step
    return found


def classify(prompt: str) -> Classification:
    """Classify one prompt as DevOps (CI/CD, infrastructure, operations) or not."""
    text = prompt if len(prompt) <= _HEAD + _TAIL else prompt[:_HEAD] + "\n" + prompt[-_TAIL:]
    text = text.lower()
    evidence = 0.0
    topic_weight: dict[str, float] = {}
    hits = [*_terms(_WORD.findall(text)).values()]
    hits += [(weight, topic) for pattern, weight, topic in _PATTERNS if pattern.search(text)]
    for weight, topic in hits:
        evidence += weight
        if weight > 0:
            topic_weight[topic] = topic_weight.get(topic, 0.0) + weight

    margin = max(-_MARGIN, min(_MARGIN, evidence - _THRESHOLD))
    score = 1.0 / (1.0 + math.exp(-_STEEPNESS * margin))
    is_devops = evidence >= _THRESHOLD
    topics: tuple[str, ...] = ()
    if is_devops:  # then the positive weights add up to at least _THRESHOLD: there is a top topic
        ranked = sorted(topic_weight.items(), key=lambda item: -item[1])
        topics = tuple(topic for topic, weight in ranked if weight >= _TOPIC_MIN) or (ranked[0][0],)
    return Classification(is_devops, score, topics)

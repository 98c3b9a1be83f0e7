"""GitLab records: streamed audit events (audit_event_schema) and self-managed api_json.log lines."""

from __future__ import annotations

import functools
import json
import random
from urllib.parse import quote

from auditor_sandbox.records import frag, q, ulid
from auditor_sandbox.tenant import GITLAB_GROUP, Bot, Repo
from auditor_sandbox.writers import iso_ms


def gitlab_event(
    event_type: str,
    ts: int,
    *,
    author_id: int,
    author_name: str,
    author_email: str | None,
    ip: str,
    entity: tuple[int, str, str],
    target: tuple[int, str, str],
    message: object,
    extra: dict[str, object] | None = None,
) -> str:
    """A GitLab streamed audit event line without its opening `{"id":…,` (the sink numbers events in
    time order, as GitLab's database does); `entity`/`target` are (id, type, path-or-details)."""
    author = q(author_name)
    tgt = f'"target_id":{target[0]},"target_type":"{target[1]}","target_details":{q(target[2])}'
    path = q(entity[2])
    message_json = q(message) if isinstance(message, str) else _compact(message)
    more = ""
    if author_email is not None:
        more = f',"author_email":{q(author_email)}'
    if extra:
        more += "," + frag(**extra)
    author_class = "User" if author_id > 0 else "Gitlab::Audit::DeployKeyAuthor"
    return (
        f'"author_id":{author_id},"author_name":{author},"entity_id":{entity[0]},"entity_type":"{entity[1]}",'
        f'"entity_path":{path},{tgt},"ip_address":"{ip}","created_at":"{iso_ms(ts)}","event_type":"{event_type}",'
        f'"details":{{"author_name":{author},"author_class":"{author_class}",{tgt},"custom_message":{message_json},'
        f'"ip_address":"{ip}","entity_path":{path}{more}}}}}\n'
    )


def project_entity(repo: Repo) -> tuple[int, str, str]:
    return (repo.repo_id, "Project", repo.full_name)


def bot_pull(bot: Bot, ts: int, repo: Repo, ip: str, protocol: str) -> str:
    """An automation account's clone or pull of a project, as a streamed repository_git_operation."""
    return gitlab_event(
        "repository_git_operation",
        ts,
        author_id=bot.account_id,
        author_name=bot.login,
        author_email=None,
        ip=ip,
        entity=project_entity(repo),
        target=project_entity(repo),
        message={"protocol": protocol, "action": "git-upload-pack"},
    )


GITLAB_ROUTES: dict[str, tuple[str, str, str]] = {
    # kind: (route, path template, feature category)
    "archive": (
        "/api/:version/projects/:id/repository/archive",
        "/api/v4/projects/{id}/repository/archive",
        "source_code_management",
    ),
    "raw": (
        "/api/:version/projects/:id/repository/files/:file_path/raw",
        "/api/v4/projects/{id}/repository/files/{file}/raw",
        "source_code_management",
    ),
    "tree": (
        "/api/:version/projects/:id/repository/tree",
        "/api/v4/projects/{id}/repository/tree",
        "source_code_management",
    ),
    "mrs": (
        "/api/:version/projects/:id/merge_requests",
        "/api/v4/projects/{id}/merge_requests",
        "code_review_workflow",
    ),
    "projects": ("/api/:version/projects", "/api/v4/projects", "groups_and_projects"),
}
SOURCE_FILES = (
    "README.md",
    "src/main.py",
    "config/settings.yaml",
    "go.mod",
    "package.json",
    "Dockerfile",
    "src/app/service.ts",
    "deploy/values.yaml",
)


def gitlab_api_log(
    rng: random.Random,
    ts: int,
    *,
    user_id: int,
    username: str,
    ip: str,
    agent: str,
    kind: str,
    project: Repo | None,
    auth_kind: str,
    token_id: int,
    status: int = 200,
) -> str:
    """One api_json.log line: a trimmed but faithful subset of GitLab's Grape request log."""
    route, template, category = GITLAB_ROUTES[kind]
    path = template.format(id=project.repo_id if project else 0, file=quote(rng.choice(SOURCE_FILES), safe=""))
    duration = round(rng.uniform(0.012, 0.09) if kind != "archive" else rng.uniform(0.2, 2.5), 5)
    user = q(username)
    project_part = f',"meta.project":{q(project.full_name)},"meta.root_namespace":"{GITLAB_GROUP}"' if project else ""
    return (
        f'{{"time":"{iso_ms(ts)}","severity":"INFO","duration_s":{duration},'
        f'"db_duration_s":{round(duration * 0.2, 5)},"view_duration_s":{round(duration * 0.5, 5)},'
        f'"status":{status},"method":"GET","path":"{path}","params":[],"host":"gitlab.{GITLAB_GROUP}.example",'
        f'"remote_ip":"{ip}, 127.0.0.1","ua":{q(agent)},"route":"{route}","user_id":{user_id},"username":{user},'
        f'"token_type":"{auth_kind}","token_id":{token_id},"queue_duration_s":{round(rng.uniform(0.001, 0.02), 6)},'
        f'"cpu_s":{round(duration * 0.8, 6)},"correlation_id":"{ulid(rng)}","meta.caller_id":"GET {route}",'
        f'"meta.remote_ip":"{ip}","meta.feature_category":"{category}","meta.user":{user},'
        f'"meta.user_id":{user_id}{project_part},"meta.client_id":"user/{user_id}",'
        f'"request_urgency":"{"low" if kind == "archive" else "default"}",'
        f'"target_duration_s":{5 if kind == "archive" else 1}}}\n'
    )


def _compact(message: object) -> str:
    if isinstance(message, dict) and len(message) == 2 and "protocol" in message:
        return _git_message(message["protocol"], message["action"])
    return json.dumps(message, separators=(",", ":"))


@functools.lru_cache(maxsize=64)
def _git_message(protocol: str, action: str) -> str:
    return json.dumps({"protocol": protocol, "action": action}, separators=(",", ":"))

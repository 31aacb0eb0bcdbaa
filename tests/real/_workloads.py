"""Offline workloads of the real heavy packages, and the snippet that imports and uses them.

Each :class:`Workload` names the package registered as lazy, the ``import`` statements a program
would write, and the body of a function that uses the package offline (anonymous or made-up
credentials, a generated service-account key, deterministic fake embeddings, no request ever
sent) and returns a JSON-serialisable result. The same snippet runs eagerly and under lazymed;
eager CPython is the oracle.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ._runner import Run, lazy_install, run_snippet


@dataclass(frozen=True)
class Workload:
    """One real package exercised offline.

    key: short id used in test ids and snippet function names.
    registered: the dotted name given to ``lazymed.install(lazy=[...])``.
    imports: modules imported with plain ``import X`` statements before any use (all under
        ``registered``; the measured "import costs nothing" window covers exactly these).
    use: body of ``def use_<key>()``: uses the package, returns a JSON-serialisable result.
    """

    key: str
    registered: str
    imports: tuple[str, ...]
    use: str


FLASK = Workload(
    key="flask",
    registered="flask",
    imports=("flask",),
    use="""
app = flask.Flask("lazymed_real_test")

@app.get("/patients/<int:pid>")
def patient(pid):
    return flask.jsonify(id=pid, ward="B", name=flask.request.args.get("name"))

response = app.test_client().get("/patients/42?name=Ada")
return {
    "status": response.status_code,
    "json": response.get_json(),
    "content_type": response.content_type,
    "rules": sorted(str(rule) for rule in app.url_map.iter_rules()),
}
""",
)

GCS = Workload(
    key="gcs",
    registered="google.cloud.storage",
    imports=("google.cloud.storage",),
    use="""
import google.auth.credentials  # not registered: an ordinary eager import

anonymous = google.cloud.storage.Client.create_anonymous_client()
bucket = anonymous.bucket("lazymed-test-bucket")
blob = bucket.blob("reports/2026/scan 01.png")
named = google.cloud.storage.Client(
    project="lazymed-test", credentials=google.auth.credentials.AnonymousCredentials()
)
note = named.bucket("ward-b").blob("notes/2026-11-30.txt")
return {
    "anonymous_project": anonymous.project,
    "bucket": bucket.name,
    "bucket_path": bucket.path,
    "blob": blob.name,
    "blob_path": blob.path,
    "public_url": blob.public_url,
    "named_project": named.project,
    "named_public_url": note.public_url,
    "client_class": type(named).__module__ + "." + type(named).__qualname__,
}
""",
)

FIREBASE = Workload(
    key="firebase",
    registered="firebase_admin",
    imports=("firebase_admin", "firebase_admin.auth", "firebase_admin.credentials"),
    use="""
import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

def unb64(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

credential = firebase_admin.credentials.Certificate(DATA["sa_key_path"])
app = firebase_admin.initialize_app(credential, name="lazymed-real-test")
token = firebase_admin.auth.create_custom_token(
    "patient-42", {"ward": "B", "triage": 3}, app=app
)
header, payload, signature = token.decode("ascii").split(".")
claims = json.loads(unb64(payload))
public_key = serialization.load_pem_public_key(DATA["sa_public_pem"].encode("ascii"))
public_key.verify(
    unb64(signature), f"{header}.{payload}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
)
lifetime = claims.pop("exp") - claims.pop("iat")
return {
    "token_type": type(token).__name__,
    "header": json.loads(unb64(header)),
    "claims": claims,
    "lifetime_seconds": lifetime,
    "signature_verified": True,
    "app": [app.name, app.project_id],
}
""",
)

SUPABASE = Workload(
    key="supabase",
    registered="supabase",
    imports=("supabase",),
    use="""
import base64
import json

def b64(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

key = ".".join([
    b64({"alg": "HS256", "typ": "JWT"}),
    b64({"iss": "supabase", "ref": "lazymedtest", "role": "anon",
         "iat": 1700000000, "exp": 4100000000}),
    "bGF6eW1lZC10ZXN0LXNpZ25hdHVyZQ",
])
client = supabase.create_client("https://lazymedtest.supabase.co", key)
query = (
    client.table("patients")
    .select("id,name")
    .eq("ward", "B")
    .gt("age", 40)
    .order("name")
    .limit(5)
)
built = query.request  # postgrest's RequestConfig: what execute() would send
return {
    "method": built.http_method,
    "url": str(built.path),
    "params": str(built.params),
    "headers": {k: v for k, v in built.headers.items() if k != "x-client-info"},
    "apikey_is_key": built.headers["apikey"] == key,
    "urls": [str(u) for u in (client.rest_url, client.auth_url, client.storage_url)],
}
""",
)

LLAMA = Workload(
    key="llama",
    registered="llama_index.core",
    imports=("llama_index.core", "llama_index.core.embeddings", "llama_index.core.schema"),
    use="""
VOCAB = ("fever", "cough", "fracture", "xray", "insulin", "glucose", "rash", "antibiotic")

class KeywordEmbedding(llama_index.core.embeddings.BaseEmbedding):
    # Deterministic: counts of each VOCAB word, L2-normalised.
    def _vector(self, text):
        words = text.lower().replace(",", " ").replace(".", " ").split()
        vector = [float(words.count(word)) for word in VOCAB]
        norm = sum(x * x for x in vector) ** 0.5 or 1.0
        return [x / norm for x in vector]

    def _get_query_embedding(self, query):
        return self._vector(query)

    def _get_text_embedding(self, text):
        return self._vector(text)

    async def _aget_query_embedding(self, query):
        return self._vector(query)

notes = {
    "n1": "Fever and cough for three days, fever persists, antibiotic started.",
    "n2": "Wrist fracture confirmed on xray, cast applied.",
    "n3": "Glucose high, insulin dose adjusted, glucose rechecked.",
    "n4": "Rash after antibiotic, antibiotic stopped.",
    "n5": "Cough without fever, xray of chest clear.",
}
nodes = [llama_index.core.schema.TextNode(text=text, id_=nid) for nid, text in notes.items()]
index = llama_index.core.VectorStoreIndex(nodes, embed_model=KeywordEmbedding())
retriever = index.as_retriever(similarity_top_k=2)
return {
    query: [[hit.node.node_id, hit.node.get_content(), round(hit.score, 6)]
            for hit in retriever.retrieve(query)]
    for query in ("fever and cough", "antibiotic rash", "xray fracture", "insulin glucose")
}
""",
)

LANGCHAIN = Workload(
    key="langchain",
    registered="langchain_core",
    imports=(
        "langchain_core.documents",
        "langchain_core.embeddings",
        "langchain_core.vectorstores",
    ),
    use="""
store = langchain_core.vectorstores.InMemoryVectorStore(
    embedding=langchain_core.embeddings.DeterministicFakeEmbedding(size=16)
)
docs = [
    langchain_core.documents.Document(page_content=text, metadata={"ward": ward}, id=doc_id)
    for doc_id, text, ward in [
        ("a", "fever and cough", "A"),
        ("b", "wrist fracture", "B"),
        ("c", "insulin dose", "A"),
        ("d", "skin rash", "C"),
    ]
]
ids = store.add_documents(docs)
scored = store.similarity_search_with_score("fever and cough", k=3)
filtered = store.similarity_search("insulin dose", k=2, filter=lambda d: d.metadata["ward"] == "A")
return {
    "ids": ids,
    "scored": [[d.id, d.page_content, d.metadata, round(score, 6)] for d, score in scored],
    "filtered": [d.id for d in filtered],
}
""",
)

ALL: tuple[Workload, ...] = (FLASK, GCS, FIREBASE, SUPABASE, LLAMA, LANGCHAIN)
BY_KEY: dict[str, Workload] = {w.key: w for w in ALL}


def snippet(workloads: Sequence[Workload]) -> str:
    """The program: import every workload's modules, then use each in turn.

    It reports ``before_import`` / ``after_import`` (snapshots around the import statements
    only), ``result:<key>`` per workload, then ``after_use`` (a snapshot), ``identity``
    (per imported name: [type is ModuleType, sys.modules[name] is the bound object, type name]),
    ``module_keys`` (sorted ``vars()`` keys per imported name) and, in lazy runs,
    ``status_after_import`` / ``status_after_use`` (per registered name, the
    ``lazymed.status()`` fields as a dict) and ``installed`` (``Status.installed``,
    ``config_path``, ``profile``).
    """
    imports = [name for w in workloads for name in w.imports]
    registered = [w.registered for w in workloads]
    lines = ["BEFORE_IMPORT = snapshot()"]
    lines += [f"import {name}" for name in imports]
    lines += [
        "AFTER_IMPORT = snapshot()",
        'report("before_import", BEFORE_IMPORT)',
        'report("after_import", AFTER_IMPORT)',
        "",
        "def _status(names):",
        "    import lazymed",
        "    status = lazymed.status()",
        "    out = {}",
        "    for name in names:",
        "        m = status.module(name)",
        "        out[name] = {f: getattr(m, f) for f in ('name', 'role', 'state', 'imported_at',",
        "                     'first_used_at', 'error', 'load_seconds', 'rss_growth_bytes')}",
        "    return out",
        "",
        f"REGISTERED = {registered!r}",
        "if LAZY:",
        '    report("status_after_import", _status(REGISTERED))',
        "    import lazymed",
        "    _st = lazymed.status()",
        '    report("installed", {"installed": _st.installed, "config_path": _st.config_path,',
        '                         "profile": _st.profile})',
        "",
    ]
    for w in workloads:
        lines.append(f"def use_{w.key}():")
        lines.append(textwrap.indent(textwrap.dedent(w.use).strip("\n"), "    "))
        lines.append(f"# end of use_{w.key}")
        lines.append("")
    for w in workloads:
        lines.append(f'report("result:{w.key}", use_{w.key}())')
    lines += [
        "",
        "import sys as _s",
        "import types as _t",
        "AFTER_USE = snapshot()",
        'report("after_use", AFTER_USE)',
        "",
        "def _bound(name):",
        "    head, *rest = name.split('.')",
        "    obj = globals()[head]",
        "    if type(obj).__name__ == 'lazy_import':  # PEP 810: a global no code has read yet",
        "        obj = obj.resolve()",
        "    for part in rest:",
        "        obj = getattr(obj, part)",
        "    return obj",
        "",
        f"IMPORTED = {imports!r}",
        'report("identity", {n: [type(_bound(n)) is _t.ModuleType,',
        "                        _s.modules.get(n) is _bound(n),",
        "                        type(_bound(n)).__qualname__] for n in IMPORTED})",
        'report("module_keys", {n: sorted(vars(_s.modules[n])) for n in IMPORTED})',
        "if LAZY:",
        '    report("status_after_use", _status(REGISTERED))',
        "",
    ]
    return "\n".join(lines)


Mode = Literal["eager", "lazy", "config"]


class RunCache:
    """Runs each (workloads, mode) snippet once per session and keeps the :class:`Run`.

    Modes: ``eager`` never imports lazymed; ``lazy`` calls ``lazymed.install(lazy=[...])`` with
    the registered names; ``config`` writes them to ``[tool.lazymed]`` of a ``pyproject.toml``
    in the snippet's directory and calls ``lazymed.install()`` with no argument.
    """

    def __init__(self, root: Path, data: Mapping[str, Any]) -> None:
        self._root = root
        self._data = dict(data)
        self._runs: dict[tuple[tuple[str, ...], Mode], Run] = {}

    def get(self, keys: Sequence[str], mode: Mode) -> Run:
        """The finished run of the workloads ``keys`` (in that order) in ``mode``."""
        cache_key = (tuple(keys), mode)
        if cache_key not in self._runs:
            workloads = [BY_KEY[k] for k in keys]
            registered = [w.registered for w in workloads]
            workdir = self._root / f"{'+'.join(keys)}-{mode}"
            workdir.mkdir(parents=True)
            install: str | None
            if mode == "eager":
                install = None
            elif mode == "lazy":
                install = lazy_install(registered)
            else:
                names = ", ".join(json.dumps(n) for n in registered)
                (workdir / "pyproject.toml").write_text(
                    f"[tool.lazymed]\nlazy = [{names}]\n", encoding="utf-8"
                )
                install = "lazymed.install()"
            self._runs[cache_key] = run_snippet(
                snippet(workloads), workdir=workdir, install=install, data=self._data
            )
        return self._runs[cache_key]

    @staticmethod
    def use_span(run: Run, key: str) -> range:
        """Line numbers of the body of ``use_<key>`` in ``run``'s script."""
        return range(run.line_of(f"def use_{key}():") + 1, run.line_of(f"# end of use_{key}"))


def write_service_account(directory: Path) -> dict[str, str]:
    """Write a freshly generated RSA service-account key file (offline; never valid anywhere)
    into ``directory``. Returns ``{"sa_key_path": str, "sa_public_pem": str}``, the ``DATA`` the
    snippets read (also used by benchmarks/test_native.py)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    account = {
        "type": "service_account",
        "project_id": "lazymed-test",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": private_pem,
        "client_email": "svc@lazymed-test.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(account), encoding="utf-8")
    return {"sa_key_path": str(path), "sa_public_pem": public_pem}

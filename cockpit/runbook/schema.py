"""The runbook's JSON Schema (`cockpit config schema`), with every field's documentation.

The documentation is the docstring written under each field in the runbook's model modules; it is read
from the source here, on demand, rather than by pydantic at import (which costs startup).
"""

from __future__ import annotations

import ast
import inspect
import json

from cockpit.runbook import config, guardrails, signing, steps
from cockpit.runbook.config import Runbook

_MODULES = (config, steps, guardrails, signing)


def _attribute_docs() -> dict[str, dict[str, str]]:
    """class name -> field name -> the docstring written under the field in the model modules."""
    docs: dict[str, dict[str, str]] = {}
    for node in (n for module in _MODULES for n in ast.parse(inspect.getsource(module)).body):
        if not isinstance(node, ast.ClassDef):
            continue
        fields = docs.setdefault(node.name, {})
        for stmt, nxt in zip(node.body, node.body[1:]):
            if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant) and isinstance(nxt.value.value, str)):
                fields[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


def json_schema() -> str:
    schema = Runbook.model_json_schema(by_alias=True)
    docs = _attribute_docs()
    models = {m.__name__: m for m in (Runbook, *_CLASSES)}
    for name, definition in [("Runbook", schema), *schema.get("$defs", {}).items()]:
        model = models.get(name)
        for field, prop in definition.get("properties", {}).items():
            attr = next((k for k, f in model.model_fields.items() if (f.alias or k) == field), field) if model else field
            doc = next((docs[c.__name__][attr] for c in (model.__mro__ if model else ())
                        if c.__name__ in docs and attr in docs[c.__name__]), None)
            if doc and "description" not in prop:
                prop["description"] = doc
    return json.dumps(schema, indent=2, ensure_ascii=False)


_CLASSES = (config.ReleaseConfig, config.LogConfig, config.EnvironmentConfig, config.FlagsConfig, config.StageConfig,
            config.HttpCheck, config.SmokeCheck, config.GitCheck, config.CommandCheck, config.FileCheck,
            config.ManualCheck, config.PrometheusCheck, config.RollbackConfig, config.NotifyConfig,
            guardrails.PrometheusConfig, guardrails.GuardrailConfig, signing.SigningConfig, steps.CommandStep,
            steps.TagStep, steps.FlagsStep,
            steps.ChecksStep, steps.ManualStep, steps.WaitStep)

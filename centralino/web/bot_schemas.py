"""The bot administration API's request and response shapes (web/bot.py), separate from the tables: a service's
auth secret is accepted and never part of any response."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a 422 naming it


class IntentIn(Strict):
    name: str | None = None
    description: str | None = None
    automation: Literal["auto", "suggest", "human"] | None = None
    threshold: float | None = Field(default=None, ge=0, le=1)
    answers: dict[str, str] | None = None
    flow: str | int | None = Field(default=None, description="a flow's name (or id); null: none")
    enabled: bool | None = None


class IntentOut(BaseModel):
    id: int
    name: str
    description: str
    automation: str
    threshold: float
    answers: dict[str, str]
    flow: str | None
    enabled: bool
    examples: int | None = None
    eval_examples: int | None = None
    updated_at: datetime


class ExampleIn(Strict):
    text: str
    language: str | None = None


class ExampleOut(BaseModel):
    id: int
    intent_id: int
    text: str
    language: str | None
    split: str
    source: str
    created_by: str
    created_at: datetime


class ExamplePage(BaseModel):
    items: list[ExampleOut]
    next: str | None


class ImportResult(BaseModel):
    intents_created: int
    intents_updated: int
    examples_added: int
    examples_skipped: int


class IntentFigures(BaseModel):
    support: int  # held-back examples of this intent
    answered: int  # held-back messages the bot would act on as this intent at its threshold
    threshold: float
    precision: float | None
    coverage: float | None
    threshold_95: float | None
    threshold_98: float | None


class Report(BaseModel):
    version: int | None
    accuracy: float | None
    eval_examples: int
    intents: dict[str, IntentFigures]


class FlowIn(Strict):
    source: str = Field(description="the flow's YAML; its `name` names the flow")
    enabled: bool | None = None


class FlowEnabled(Strict):
    enabled: bool


class FlowSummary(BaseModel):
    id: int
    name: str
    version: int
    enabled: bool
    intents: int
    updated_at: datetime


class FlowOut(BaseModel):
    id: int
    name: str
    version: int
    enabled: bool
    source: str
    definition: dict[str, Any]
    steps: list[dict[str, Any]]
    updated_at: datetime


class ServiceIn(Strict):
    name: str | None = None
    method: str | None = None
    url: str | None = None
    auth_header: str | None = None
    auth_secret: str | None = Field(default=None, description="write-only: a new value replaces it, \"\" clears it")
    request_template: str | None = None
    response_mapping: dict[str, str] | None = None
    timeout_s: float | None = None
    retries: int | None = None


class ServiceOut(BaseModel):
    id: int
    name: str
    method: str
    url: str
    auth_header: str | None
    has_secret: bool
    request_template: str | None
    response_mapping: dict[str, str]
    timeout_s: float
    retries: int
    updated_at: datetime


class TestCall(Strict):
    inputs: dict[str, str | int | float] = Field(default_factory=dict)


class TestCallResult(BaseModel):
    ok: bool
    status: int | None
    data: dict[str, Any]
    error: str | None
    document_bytes: int | None
    content_type: str | None
    attempts: int
    elapsed_ms: float


class ModelOut(BaseModel):
    version: int
    state: str
    encoder: str
    metrics: dict[str, Any]
    trained_examples: int
    reason: str | None
    trained_by: str
    created_at: datetime
    activated_at: datetime | None


class TrainResult(BaseModel):
    version: int
    state: str
    reason: str | None
    accuracy: float | None


class CandidateOut(BaseModel):
    id: int
    message_id: int
    text: str
    language: str | None
    reason: str
    predicted_intent: str | None
    confidence: float | None
    state: str
    label_intent: str | None
    labelled_by: str | None
    created_at: datetime
    labelled_at: datetime | None


class CandidatePage(BaseModel):
    items: list[CandidateOut]
    next: str | None


class LabelIn(Strict):
    intent_id: int | None = Field(default=None, description="null: confirm the intent the bot predicted")


class LabelResult(BaseModel):
    candidate_id: int
    intent_id: int
    intent: str
    example_id: int | None


class ChannelBotIn(Strict):
    enabled: bool | None = None
    default_language: str | None = None
    rephrase_limit: int | None = None
    texts: dict[str, dict[str, str]] | None = Field(
        default=None, description="the bot's own texts by language: rephrase, handoff, service_error, case_opened, "
                    "closed, closed_no_time")


class ChannelBotOut(BaseModel):
    channel_id: int
    name: str | None = None
    kind: str | None = None
    enabled: bool
    default_language: str
    rephrase_limit: int
    texts: dict[str, dict[str, str]]

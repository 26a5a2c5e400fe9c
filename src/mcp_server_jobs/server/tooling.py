"""Registering a tool from its request model, so the published schema and the validation are one thing."""

from __future__ import annotations

import inspect
import json
import logging
import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, PlainValidator, ValidationError
from pydantic.fields import FieldInfo

from mcp_server_jobs.errors import JobsError
from mcp_server_jobs.explain import explain
from mcp_server_jobs.server.schemas import input_schema, without_titles

RequestT = TypeVar("RequestT", bound=BaseModel)
Handler = Callable[[Context, RequestT], Awaitable[Any]]

log = logging.getLogger(__name__)


def _same(value: Any) -> Any:
    return value


def _parameter(name: str, info: FieldInfo) -> inspect.Parameter:
    """A keyword parameter that lets any value through: the request model validates, in our words.

    Text fields are typed `str` (but not checked) so the SDK does not read a JSON-looking
    description as JSON; other values may arrive JSON-encoded in a string and are decoded.
    """
    annotation: Any = Annotated[str, PlainValidator(_same)] if _is_text(info.annotation) else Any
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None)


def _is_text(annotation: Any) -> bool:
    arms = [arm for arm in typing.get_args(annotation) if arm is not type(None)] or [annotation]
    return all(arm is str or _is_annotated_str(arm) for arm in arms)


def _is_annotated_str(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Annotated and typing.get_args(annotation)[0] is str


def add_model_tool(
    server: MCPServer[Any],
    request_model: type[RequestT],
    handler: Handler[RequestT],
    *,
    name: str,
    description: str,
    annotations: ToolAnnotations,
    guard: RefuseUnknownArguments,
    meta: dict[str, Any] | None = None,
) -> None:
    """Publish `handler` as tool `name`, its arguments being the fields of `request_model` (`meta`: its `_meta`).

    A `JobsError` becomes a tool error whose text the model reads; other exceptions stay masked.
    """
    schema = input_schema(request_model, getattr(request_model, "described_by", None))

    async def tool(ctx: Context, **arguments: Any) -> Any:
        # Nulls are "not given": the request's fields_set then says what the caller asked to change.
        given = {key: value for key, value in arguments.items() if value is not None}
        try:
            request = request_model.model_validate(given)
            answer = await handler(ctx, request)
        except JobsError as exc:
            if exc.suggestion is None:
                raise ToolError(str(exc)) from exc
            return _refusal(name, exc)
        except ValidationError as exc:
            raise ToolError(explain(exc, schema)) from exc
        return _result(answer)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Context)
    fields = [_parameter(field, info) for field, info in request_model.model_fields.items()]
    returns = typing.get_type_hints(handler)["return"]
    tool.__signature__ = inspect.Signature([context, *fields], return_annotation=returns)  # type: ignore[attr-defined]
    tool.__name__ = name
    server.add_tool(tool, name=name, description=description, annotations=annotations, meta=meta)
    # The SDK publishes the signature's schema, which says "anything" for every argument; publish the
    # request model's own (MCPServer has no public way to give a tool its input schema).
    registered = server._tool_manager.get_tool(name)  # pyright: ignore[reportPrivateUsage]
    assert registered is not None
    registered.parameters = schema
    if registered.fn_metadata.output_schema is not None:
        registered.fn_metadata.output_schema = without_titles(registered.fn_metadata.output_schema)
    guard.known[name] = frozenset(request_model.model_fields)


def _result(answer: Any) -> Any:
    """A model's answer as structured content, with the same JSON (compact, not indented) as its text, or the
    answer's own `as_text()` where it has one (an answer meant to be looked at rather than read whole)."""
    if not isinstance(answer, BaseModel):
        return answer
    data = answer.model_dump(mode="json", by_alias=True)
    as_text = getattr(answer, "as_text", None)
    text = as_text() if callable(as_text) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


class RefuseUnknownArguments:
    """Middleware: a tools/call naming an argument the tool does not have gets a tool error.

    The SDK drops unknown names silently, so a misspelt optional argument ('dedupe_key') would be
    lost without a word; the error names the argument and lists the right ones.
    """

    def __init__(self) -> None:
        self.known: dict[str, frozenset[str]] = {}

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params if ctx.method == "tools/call" else None
        if isinstance(params, dict) and isinstance(params.get("arguments"), dict):
            known = self.known.get(str(params.get("name")))
            unknown = sorted(set(params["arguments"]) - known) if known is not None else []
            if known is not None and unknown:
                text = (
                    f"Error executing tool {params['name']}: unknown argument(s) {', '.join(map(repr, unknown))}; "
                    f"this tool takes: {', '.join(sorted(known))}. Nothing was changed."
                )
                return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        return await call_next(ctx)


class OfferSessions:
    """Middleware: every tool call shows its client's session to `offer` (the sampling backend keeps it)."""

    def __init__(self, offer: Callable[[Any, str], None]) -> None:
        self.offer = offer

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call":
            self.offer(ctx.session, ctx.protocol_version)
        return await call_next(ctx)


def _refusal(name: str, exc: JobsError) -> CallToolResult:
    """A tool error as the SDK writes one, plus the suggested call as structured content a client can follow."""
    log.info("Tool %r refused: %r", name, str(exc))
    text = f"Error executing tool {name}: {exc}"
    suggestion = exc.suggestion.as_dict() if exc.suggestion is not None else None
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content={"error": str(exc), "suggestion": suggestion},
        is_error=True,
    )

"""`/api/chat`: talk to the assistant, which manages the user's tasks."""

from __future__ import annotations

from fastapi import APIRouter, Request

from todo_backend import assistant
from todo_backend.api.deps import AIClientDep, CurrentUser, PoolDep, SettingsDep
from todo_backend.chat_limits import ChatLimits
from todo_backend.models import ChatRequest, ChatResponse

router = APIRouter(prefix="/api/chat", tags=["chat"])


@router.post("", response_model=ChatResponse)
async def post_chat(
    request: Request,
    pool: PoolDep,
    settings: SettingsDep,
    user_id: CurrentUser,
    client: AIClientDep,
    chat_in: ChatRequest,
) -> ChatResponse:
    """Send a message; the answer says what the assistant did (429 over the user's limits)."""
    limits: ChatLimits = request.app.state.chat_limits
    with limits.turn(user_id):
        return await assistant.chat(
            pool=pool,
            client=client,
            user_id=user_id,
            message=chat_in.message,
            conversation_id=chat_in.conversation_id,
            turn_timeout_seconds=settings.CHAT_TURN_TIMEOUT_SECONDS,
        )

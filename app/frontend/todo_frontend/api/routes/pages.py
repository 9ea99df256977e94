"""The HTML pages: the task list with the assistant, and the sign-in/sign-up forms."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from todo_frontend.api.deps import OptionalUser, ServicesDep
from todo_frontend.models import EMAIL_MAX, MESSAGE_MAX, PASSWORD_MAX, PASSWORD_MIN, TITLE_MAX

router = APIRouter(tags=["pages"])

# Sign-up answers the same whether or not the email had an account, so this says both.
SIGNED_UP_NOTICE = (
    "If this email had no account, it has one now: sign in with the password you chose. "
    "If it already had one, nothing changed: sign in with that account's password."
)


def render_auth_form(
    request: Request,
    services: ServicesDep,
    *,
    action: str,
    email: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render the sign-in (`action="/signin"`) or sign-up form, with an error or notice."""
    return services.templates.TemplateResponse(
        request,
        "auth_form.html",
        {
            "user": None,
            "action": action,
            "heading": "Create an account" if action == "/signup" else "Sign in",
            "email": email[:EMAIL_MAX],
            "error": error,
            "notice": notice,
            "email_max": EMAIL_MAX,
            "password_min": PASSWORD_MIN,
            "password_max": PASSWORD_MAX,
        },
        status_code=status_code,
        headers=headers,
    )


@router.get("/", response_class=HTMLResponse)
async def task_page(request: Request, services: ServicesDep, user: OptionalUser) -> Response:
    """Show the task list and the assistant; send visitors to the sign-in page."""
    if user is None:
        return RedirectResponse("/signin", status_code=303)
    return services.templates.TemplateResponse(
        request,
        "tasks.html",
        {"user": user, "title_max": TITLE_MAX, "message_max": MESSAGE_MAX},
    )


@router.get("/signin", response_class=HTMLResponse)
async def sign_in_page(request: Request, services: ServicesDep, user: OptionalUser) -> Response:
    """Show the sign-in form (or the tasks, when already signed in)."""
    if user is not None:
        return RedirectResponse("/", status_code=303)
    notice = SIGNED_UP_NOTICE if "signed-up" in request.query_params else None
    return render_auth_form(request, services, action="/signin", notice=notice)


@router.get("/signup", response_class=HTMLResponse)
async def sign_up_page(request: Request, services: ServicesDep, user: OptionalUser) -> Response:
    """Show the sign-up form (or the tasks, when already signed in)."""
    if user is not None:
        return RedirectResponse("/", status_code=303)
    return render_auth_form(request, services, action="/signup")

"""Who is acting. Every service takes one, so permissions and the audit trail can attach to it."""

from __future__ import annotations

from dataclasses import dataclass

from showroom.vocabulary import Role


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    display_name: str
    role: Role

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.MANAGER, Role.ADMIN)


def bind_actor(session, actor: Actor) -> None:
    """Tag the session's changes with the actor, so outbox ops record who made them."""
    from showroom.db.outbox import ACTOR

    session.info[ACTOR] = actor.user_id

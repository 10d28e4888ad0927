"""Team rules: who may do what to a team, and what each change does to people and
invitations. Knows nothing of Telegram.

A team is one row in `teams`; its owner's user row (user_type 'team') is the team's card in
search, and the owner is also one of its members (a person is in at most one team).

- **Any member acts for the team**: sees the card and its pending join requests, and accepts
  or declines them. Accepting adds the person as a member.
- **The owner manages it**: edits name, description and the roles it needs, removes members,
  hands ownership to a member, creates and revokes the join link, deletes the team. The
  owner cannot leave; they transfer ownership or delete the team instead.
- **Ownership transfer**: the team's searchable card is the owner's user row, so the card
  moves with ownership. The new owner becomes user_type 'team', takes over the team's roles
  as what they look for and the old card's visibility (searching or paused). The old owner
  stays a member and becomes a 'participant' with searching paused: their user row still
  carries the team's wants, which would mislead others until they edit their profile. The
  team's pending invitations move with it (invites now come from the new owner, requests go
  to them); the new owner's own pending requests and connects close, since a team's card
  cannot have them; one between the two owners closes too.
- **Deleting a team**: members and every invitation of the team go with it (CASCADE). The
  owner keeps their account and becomes a 'participant' with searching paused, for the same
  reason as above.

Every change locks the team's row first, so a double tap, or the owner and a member acting at
once, run one after the other; the second sees the first's result and is refused (the team
is gone, the member already removed, the request already answered) instead of acting twice.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from enum import Enum, auto

from teambot.adapters.database import Connection, Database
from teambot.data import invitations, teams, users
from teambot.domain import InvitationRow, LiveMessage, TeamRow, UserRow
from teambot.services import invitations as invitation_rules
from teambot.services import skills as skill_tags
from teambot.services.profiles import MAX_TEAM_DESCRIPTION, MAX_TEAM_NAME

JOIN_PREFIX = "team_"
# secrets.token_urlsafe(16): 22 characters; Telegram allows [A-Za-z0-9_-]{1,64} in /start
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,43}")


class Refusal(Enum):
    """Why a team action did not happen; routers say it in words."""

    GONE = auto()  # the team no longer exists
    NOT_MEMBER = auto()  # the person acting is not in this team
    NOT_OWNER = auto()  # only the owner may do this
    MEMBER_GONE = auto()  # the person picked is not in the team (any more)
    SELF = auto()  # the owner picked themselves
    OWNER_CANNOT_LEAVE = auto()
    REQUEST_GONE = auto()  # answered, expired or cancelled meanwhile
    LINK_INVALID = auto()  # unknown, malformed or revoked join link
    NO_LINK = auto()  # revoking when there is no link
    ALREADY_IN_TEAM = auto()  # following a join link while in a team


@dataclass(frozen=True)
class JoinRequest:
    invitation: InvitationRow
    person: UserRow


@dataclass(frozen=True)
class TeamView:
    """A team as one of its members sees it."""

    team: TeamRow
    members: list[UserRow]  # the owner first
    requests: list[JoinRequest] = field(default_factory=list)

    def owned_by(self, user_id: int) -> bool:
        return self.team.owner_id == user_id

    def others(self) -> list[UserRow]:
        """Members besides the owner: whom the owner can remove or hand the team to."""
        return [member for member in self.members if member.id != self.team.owner_id]


@dataclass(frozen=True)
class Changed:
    """A change went through: the team as it was before, the person it concerned (the member
    removed, the new owner, the one who left), and everyone else who should hear of it."""

    team: TeamRow
    person: UserRow | None = None
    told: list[UserRow] = field(default_factory=list)
    # messages with buttons for invitations the change closed, to be edited
    messages: tuple[LiveMessage, ...] = ()


@dataclass(frozen=True)
class JoinLinkOutcome:
    team: TeamRow | None = None
    sent: invitation_rules.Sent | None = None
    refusal: Refusal | None = None
    already_in: TeamRow | None = None  # the team they are in, when that is the refusal


# --- validation: the routers ask again with a clear message; these are the rules


def clean_name(raw: str) -> str | None:
    name = " ".join(raw.split())
    return name if 1 <= len(name) <= MAX_TEAM_NAME else None


def clean_description(raw: str) -> str | None:
    description = raw.strip()
    return description if len(description) <= MAX_TEAM_DESCRIPTION else None


def clean_roles(raw: str) -> list[str] | None:
    """1 to MAX_SKILLS skill tags (the same tags people describe themselves with)."""
    tags = skill_tags.parse_tags(raw)
    return tags if 1 <= len(tags) <= skill_tags.MAX_SKILLS else None


def token_from_payload(payload: str) -> str | None:
    """The token of a /start payload `team_<token>`: None when the payload is no join link
    at all, "" when it is one but malformed (no team has it: "this link no longer works")."""
    if not payload.startswith(JOIN_PREFIX):
        return None
    token = payload.removeprefix(JOIN_PREFIX)
    return token if _TOKEN.fullmatch(token) else ""


# --- reading


def _view(conn: Connection, team: TeamRow) -> TeamView:
    pending = invitations.pending_requests_for_team(conn, team.id)
    people = users.get_many(conn, [invitation.sender_id for invitation in pending])
    requests = [
        JoinRequest(invitation, people[invitation.sender_id])
        for invitation in pending
        if invitation.sender_id in people and people[invitation.sender_id].registered
    ]
    return TeamView(team, users.members_of(conn, team.id), requests)


def _team_of(conn: Connection, user_id: int) -> TeamView | None:
    team = teams.of_member(conn, user_id)
    return None if team is None else _view(conn, team)


async def team_of(database: Database, user_id: int) -> TeamView | None:
    """The team the user is in, with its members and pending join requests."""
    return await database.run(_team_of, user_id)


def _as_member(conn: Connection, user_id: int, team_id: int) -> TeamRow | Refusal:
    team = teams.get(conn, team_id, lock=True)
    if team is None:
        return Refusal.GONE
    if not teams.is_member(conn, team.id, user_id):
        return Refusal.NOT_MEMBER
    return team


def _as_owner(conn: Connection, user_id: int, team_id: int) -> TeamRow | Refusal:
    team = _as_member(conn, user_id, team_id)
    if isinstance(team, TeamRow) and team.owner_id != user_id:
        return Refusal.NOT_OWNER
    return team


def _managed(conn: Connection, user_id: int, team_id: int) -> TeamView | Refusal:
    team = _as_owner(conn, user_id, team_id)
    return team if isinstance(team, Refusal) else _view(conn, team)


async def managed(database: Database, user_id: int, team_id: int) -> TeamView | Refusal:
    """The team, for a step of an owner-only dialogue (picking a member, confirming)."""
    return await database.run(_managed, user_id, team_id)


def _membership(conn: Connection, user_id: int, team_id: int, member_id: int) -> TeamRow | Refusal:
    """The team, when its owner `user_id` can act on `member_id` in it."""
    team = _as_owner(conn, user_id, team_id)
    if isinstance(team, Refusal):
        return team
    if member_id == user_id:
        return Refusal.SELF
    if not teams.is_member(conn, team_id, member_id):
        return Refusal.MEMBER_GONE
    return team


def _member_for_action(
    conn: Connection, user_id: int, team_id: int, member_id: int
) -> tuple[TeamRow, UserRow] | Refusal:
    team = _membership(conn, user_id, team_id, member_id)
    if isinstance(team, Refusal):
        return team
    member = users.get(conn, member_id)
    if member is None:
        return Refusal.MEMBER_GONE
    return team, member


async def member_for_action(
    database: Database, user_id: int, team_id: int, member_id: int
) -> tuple[TeamRow, UserRow] | Refusal:
    """The team and the member the owner picked to remove or hand the team to (for the
    confirmation), or why they cannot."""
    return await database.run(_member_for_action, user_id, team_id, member_id)


async def check_leave(database: Database, user_id: int, team_id: int) -> TeamRow | Refusal:
    return await database.run(_can_leave, user_id, team_id)


def _can_leave(conn: Connection, user_id: int, team_id: int) -> TeamRow | Refusal:
    team = _as_member(conn, user_id, team_id)
    if isinstance(team, TeamRow) and team.owner_id == user_id:
        return Refusal.OWNER_CANNOT_LEAVE
    return team


# --- the owner's edits


def _edit(
    conn: Connection, user_id: int, team_id: int, fields: dict[str, object]
) -> TeamView | Refusal:
    team = _as_owner(conn, user_id, team_id)
    if isinstance(team, Refusal):
        return team
    fresh = teams.update(conn, team.id, **fields)
    assert fresh is not None  # its row is locked
    if "roles_needed" in fields:
        # the owner's user row is what search matches on: it looks for what the team needs
        users.update_profile(conn, team.owner_id, looking_for=fields["roles_needed"])
    return _view(conn, fresh)


# each returns the team as it is now, with its members and requests (the card to show)


async def rename(database: Database, user_id: int, team_id: int, raw: str) -> TeamView | Refusal:
    name = clean_name(raw)
    if name is None:
        raise ValueError("team name out of bounds")
    return await database.run(_edit, user_id, team_id, {"name": name})


async def describe(database: Database, user_id: int, team_id: int, raw: str) -> TeamView | Refusal:
    description = clean_description(raw)
    if description is None:
        raise ValueError("team description too long")
    return await database.run(_edit, user_id, team_id, {"description": description})


async def set_roles(database: Database, user_id: int, team_id: int, raw: str) -> TeamView | Refusal:
    roles = clean_roles(raw)
    if roles is None:
        raise ValueError("team roles out of bounds")
    return await database.run(_edit, user_id, team_id, {"roles_needed": roles})


# --- membership


def _remove(conn: Connection, user_id: int, team_id: int, member_id: int) -> Changed | Refusal:
    team = _membership(conn, user_id, team_id, member_id)
    if isinstance(team, Refusal):
        return team
    person = users.get(conn, member_id)
    assert person is not None
    if not teams.remove_member(conn, team_id, member_id):
        return Refusal.MEMBER_GONE
    return Changed(team, person)


async def remove_member(
    database: Database, user_id: int, team_id: int, member_id: int
) -> Changed | Refusal:
    """The owner removes a member; `person` is the one removed (to be told)."""
    return await database.run(_remove, user_id, team_id, member_id)


def _leave(conn: Connection, user_id: int, team_id: int) -> Changed | Refusal:
    team = _can_leave(conn, user_id, team_id)
    if isinstance(team, Refusal):
        return team
    if not teams.remove_member(conn, team.id, user_id):
        return Refusal.NOT_MEMBER
    people = users.get_many(conn, [user_id, team.owner_id])
    owner = people.get(team.owner_id)
    return Changed(team, people.get(user_id), [owner] if owner is not None else [])


async def leave(database: Database, user_id: int, team_id: int) -> Changed | Refusal:
    """A member leaves; `told` is the owner."""
    return await database.run(_leave, user_id, team_id)


def _transfer(conn: Connection, user_id: int, team_id: int, member_id: int) -> Changed | Refusal:
    team = _membership(conn, user_id, team_id, member_id)
    if isinstance(team, Refusal):
        return team
    people = users.get_many(conn, [user_id, member_id])
    old, new = people.get(user_id), people.get(member_id)
    assert old is not None and new is not None
    if not new.registered or new.is_banned:
        return Refusal.MEMBER_GONE
    closed = invitations.cancel_pending_outside_team(conn, new.id, team.id)
    closed += invitations.hand_over_team(conn, team.id, old.id, new.id)
    teams.set_owner(conn, team.id, new.id)
    users.set_role(
        conn,
        new.id,
        user_type="team",
        searching=old.is_searching,
        looking_for=list(team.roles_needed),
    )
    users.set_role(conn, old.id, user_type="participant", searching=False)
    others = [m for m in users.members_of(conn, team.id) if m.id not in (old.id, new.id)]
    return Changed(team, new, others, tuple(invitations.messages_of(conn, closed)))


async def transfer(
    database: Database, user_id: int, team_id: int, member_id: int
) -> Changed | Refusal:
    """The owner hands the team to a member (see the module docstring for what changes);
    `person` is the new owner, `told` the other members."""
    return await database.run(_transfer, user_id, team_id, member_id)


def _delete(conn: Connection, user_id: int, team_id: int) -> Changed | Refusal:
    team = _as_owner(conn, user_id, team_id)
    if isinstance(team, Refusal):
        return team
    members = [m for m in users.members_of(conn, team.id) if m.id != user_id]
    messages = tuple(invitations.team_messages(conn, team.id))  # before the CASCADE
    teams.delete(conn, team.id)
    users.set_role(conn, user_id, user_type="participant", searching=False)
    return Changed(team, None, members, messages)


async def delete(database: Database, user_id: int, team_id: int) -> Changed | Refusal:
    """The owner deletes the team; `told` are the other members."""
    return await database.run(_delete, user_id, team_id)


# --- join requests, answered by any member


def _answer_request(
    conn: Connection, user_id: int, team_id: int, invitation_id: int, accept: bool
) -> invitation_rules.Answered | Refusal:
    team = _as_member(conn, user_id, team_id)
    if isinstance(team, Refusal):
        return team
    answered = invitation_rules.answer_in(conn, invitation_id, user_id, accept, team)
    # a join request's joiner is never an invitee already in a team (InTeam is an invite's)
    if not isinstance(answered, invitation_rules.Answered):
        return Refusal.REQUEST_GONE
    return answered


async def answer_request(
    database: Database, user_id: int, team_id: int, invitation_id: int, *, accept: bool
) -> invitation_rules.Answered | Refusal:
    """Any member accepts or declines a pending join request to their team (the same rules
    as the Accept under the owner's notice: services.invitations.answer_in)."""
    return await database.run(_answer_request, user_id, team_id, invitation_id, accept)


# --- the join link


def _link(conn: Connection, user_id: int, team_id: int) -> TeamRow | Refusal:
    team = _as_owner(conn, user_id, team_id)
    if isinstance(team, Refusal) or team.join_token is not None:
        return team
    fresh = teams.set_join_token(conn, team.id, secrets.token_urlsafe(16))
    assert fresh is not None  # its row is locked
    return fresh


async def join_link(database: Database, user_id: int, team_id: int) -> TeamRow | Refusal:
    """The team with its join token, created on first use; the same token until revoked."""
    return await database.run(_link, user_id, team_id)


def _revoke(conn: Connection, user_id: int, team_id: int) -> TeamRow | Refusal:
    team = _as_owner(conn, user_id, team_id)
    if isinstance(team, Refusal):
        return team
    if team.join_token is None:
        return Refusal.NO_LINK
    teams.set_join_token(conn, team.id, None)
    return team


async def revoke_link(database: Database, user_id: int, team_id: int) -> TeamRow | Refusal:
    """Old links stop working at once; the next join link is a new one."""
    return await database.run(_revoke, user_id, team_id)


def _link_target(conn: Connection, user_id: int, token: str) -> JoinLinkOutcome:
    team = teams.by_token(conn, token) if token else None
    if team is None:
        return JoinLinkOutcome(refusal=Refusal.LINK_INVALID)
    current = teams.of_member(conn, user_id)
    if current is not None:
        return JoinLinkOutcome(team=team, refusal=Refusal.ALREADY_IN_TEAM, already_in=current)
    return JoinLinkOutcome(team=team)


async def link_target(database: Database, user_id: int, token: str) -> JoinLinkOutcome:
    """Where a join link leads, without acting: the team, or why it leads nowhere."""
    return await database.run(_link_target, user_id, token)


def _request_to_join(
    conn: Connection, user_id: int, token: str, per_day: int, hours: int
) -> JoinLinkOutcome:
    target = _link_target(conn, user_id, token)
    if target.refusal is not None or target.team is None:
        return target
    sent = invitation_rules.send_in(
        conn, user_id, target.team.owner_id, "", per_day, hours, join_link=True
    )
    return JoinLinkOutcome(team=target.team, sent=sent)


async def request_to_join(
    database: Database, user_id: int, token: str, *, per_day: int, hours: int
) -> JoinLinkOutcome:
    """A join request (kind 'request') to the owner of the link's team, through the
    invitation rules, so the daily quota and one pending invitation per pair apply."""
    return await database.run(_request_to_join, user_id, token, per_day, hours)


# --- the account behind a membership goes away


@dataclass(frozen=True)
class Departure:
    """What deleting an account did to its team: deleted it (the owner left) or left it."""

    team: TeamRow
    deleted: bool
    told: list[UserRow]
    messages: tuple[LiveMessage, ...] = ()  # of the deleted team's invitations


def leave_for_good(conn: Connection, user_id: int) -> Departure | None:
    """Called inside the account-deletion transaction: an owner's team is deleted (nobody
    would manage it, and its card was the owner's profile), a member leaves it."""
    team = teams.of_member(conn, user_id)
    if team is None:
        return None
    owner = team.owner_id == user_id
    outcome = _delete(conn, user_id, team.id) if owner else _leave(conn, user_id, team.id)
    if isinstance(outcome, Refusal):
        return None
    return Departure(team, owner, outcome.told, outcome.messages)


# --- a team formed from an accepted auto-fill proposal (services/events.py)


class _CannotForm(Exception):
    pass


def form_in(
    conn: Connection, members: list[int], team_id: int | None, name: str, size_limit: int | None
) -> TeamRow | None:
    """Inside a transaction: the people of a group that every member accepted become one
    team. With `team_id` the others join that team, whose owner is `members[0]`; without,
    `members[0]` founds a team called `name` (their card becomes the team's, as at
    registration; it looks for what they looked for and the group does not offer) and the
    others join it. None, and nothing changed, when it cannot be done as proposed: the team
    is gone or changed hands, it would outgrow `size_limit`, or someone is in a team by now."""
    try:
        with conn.transaction():  # a savepoint: a refusal halfway leaves nobody placed
            return _form(conn, members, team_id, name, size_limit)
    except _CannotForm:
        return None


def _form(
    conn: Connection, members: list[int], team_id: int | None, name: str, size_limit: int | None
) -> TeamRow:
    owner_id, others = members[0], members[1:]
    if team_id is not None:
        team = teams.get(conn, team_id, lock=True)
        if team is None or team.owner_id != owner_id:
            raise _CannotForm
        size = len(users.members_of(conn, team.id)) + len(others)
        if size_limit is not None and size > size_limit:
            raise _CannotForm
    else:
        people = users.get_many(conn, members)
        if teams.of_member(conn, owner_id) is not None or owner_id not in people:
            raise _CannotForm
        offered = {tag for person in people.values() for tag in person.skills}
        wants = [tag for tag in people[owner_id].looking_for if tag not in offered]
        founded = teams.upsert_owned(
            conn, owner_id, name=name[:MAX_TEAM_NAME], description="", roles_needed=wants
        )
        users.set_role(
            conn,
            owner_id,
            user_type="team",
            searching=people[owner_id].is_searching,
            looking_for=wants,
        )
        team = teams.get(conn, founded, lock=True)
        assert team is not None
    for person in others:
        if not invitations.add_member(conn, team.id, person):  # in a team by now
            raise _CannotForm
    return team

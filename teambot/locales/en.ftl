# teambot: English texts (Project Fluent, https://projectfluent.org).
# Values are Telegram HTML: plain text must not contain <, > or & unescaped.
start =
    Hi, { $name }! I am the Launch Lab teammate finder.
    I help participants, co-founders and teams find each other. /help tells how.
help =
    /start — register or open the menu; /search — people and teams that match you
    /invitations — answer or cancel invitations; /saved — people you saved; /team — your team
    /profile — edit or pause your profile; /language; /cancel leaves any dialogue
throttled = Slow down a little: try again in { $seconds } s.
failed = Sorry, something went wrong on my side. Please try again.
cmd_start = Register or open the menu
cmd_help = How the bot works
choose_language = Choose your language:
choose_role =
    Who are you here?
    • <b>Participant</b>: you want to join a team
    • <b>Co-founder</b>: you look for a co-founder to start something
    • <b>Team</b>: you look for people
role_participant = Participant
role_cofounder = Co-founder
role_team = Team
ask_name = How should others see your name? Type it, or keep the one from Telegram.
keep_name = Keep «{ $name }»
name_invalid = A name is 1 to 64 characters. Please try again.
ask_skills =
    What can you do? Tap skills below or type your own, separated by commas (up to { $max }).
    Chosen: { $chosen }
ask_wants =
    Whom or what skills are you looking for? Tap or type, then press Done.
    Chosen: { $chosen }
nothing_chosen = nothing yet
done = Done ✓
skills_full = That is { $max } already: remove one to add another.
skills_refused = Not a skill tag: { $text }. Use letters and digits, up to 32 characters.
ask_bio = A few words about you (up to { $max } characters), or skip.
skip = Skip
bio_too_long = That is { $length } characters; the limit is { $max }. Please shorten it.
ask_team_name = What is your team called?
team_name_invalid = A team name is 1 to 100 characters. Please try again.
ask_team_description = What is the team building, and whom does it need? (up to { $max } characters, or skip)
confirm_profile =
    This is how others will see you:

    { $card }

    All correct?
confirm = Confirm ✓
start_over = Start over
registered = You are registered and visible in search. /search to find matches.
cancelled = Cancelled. /start to begin again.
nothing_to_cancel = Nothing to cancel.
menu =
    Welcome back, { $name }!
    /search — find matches
    /profile — your profile
    /invitations — invitations
    /team — your team
    /language — language
stale_button = This button is no longer active.
unknown_input = I did not get that. /help lists what I can do.
language_set = Language: English.
banned = Your account is blocked by the moderators.
card_skills = Skills
card_wants = Looking for
card_team = Team
cmd_search = Find matches
cmd_profile = Your profile
cmd_language = Change language
cmd_cancel = Leave the current dialogue
why_they_have = Has what you look for: { $tags }
why_they_want = Looks for what you have: { $tags }
why_recent = Recently active and looking.
position = { $n } of { $total }
position_more = { $n } of { $total }+
action_invite = Invite to team
action_request = Ask to join
action_connect = Connect
action_next = Next ▶
action_hide = Hide
action_report = Report
search_empty = Nobody who fits you is looking right now.
search_empty_filtered = Nobody with «{ $skill }» is looking right now. /search without a skill shows everyone who fits you.
register_first = Register first: /start.
hidden = Hidden: you will not see them again.
reported = Thank you, the moderators will look at it.
ask_note = Add a short note (up to { $max } characters), or send without one.
send_without_note = Send without a note
invite_sent = Invitation sent to <b>{ $name }</b>. You will hear back when they answer.
invite_not_allowed = You cannot send this kind of invitation.
invite_gone = This profile is no longer available.
invite_quota = { $per_day ->
    [one] That is one invitation in 24 hours, the limit. Try again tomorrow.
   *[other] That is { $per_day } invitations in 24 hours, the limit. Try again tomorrow.
}
invite_already_pending = There is already a pending invitation between you two.
invite_theirs_pending = They have already reached out to you: answer them in /invitations.
action_cancel_invite = Cancel invitation
action_accept = Accept ✓
action_decline = Decline
incoming_invite = <b>{ $name }</b> invites you to join the team <b>{ $team }</b>.
incoming_request = <b>{ $name }</b> asks to join your team <b>{ $team }</b>.
incoming_connect = <b>{ $name }</b> would like to connect as co-founders.
no_invitations = No pending invitations.
outgoing = You invited <b>{ $name }</b> to <b>{ $team }</b>; waiting for an answer.
invitation_stale = This invitation is no longer pending.
expired_sender = Your invitation to <b>{ $name }</b> expired without an answer.
cmd_invitations = Pending invitations
action_resume = Resume searching
action_pause = Pause searching
action_edit = Edit profile
action_delete = Delete account
paused_inactive =
    You have not been here for { $days ->
        [one] a day
       *[other] { $days } days
    }, so your search is paused: nobody will see you until you come back.
searching_on = 🟢 Visible in search.
searching_off = ⏸ Searching paused: others do not see you.
resumed = Searching again.
paused = Searching paused.
delete_confirm =
    Delete your account? You disappear from search at once, pending invitations are cancelled, and your data is erased after { $days ->
        [one] a day.
       *[other] { $days } days.
    }
delete_yes = Yes, delete
delete_no = No, keep it
delete_kept = Kept. Nothing changed.
delete_confirm_team = Your team <b>{ $team }</b> is deleted with it; its members are told.
edit_which = What would you like to change?
edit_name = Name
edit_skills = Skills
edit_wants = Looking for
edit_bio = About me
edit_all = Everything (start over)
edit_discard = Discard
profile_updated = Saved. /profile shows your card.
digest = New profiles match you: { $counts }. Take a look: /search
digest_participants = { $count ->
    [one] { $count } participant
   *[other] { $count } participants
}
digest_cofounders = { $count ->
    [one] { $count } co-founder
   *[other] { $count } co-founders
}
digest_teams = { $count ->
    [one] { $count } team
   *[other] { $count } teams
}
report_to_admin =
    ⚠️ User { $reporter } reported this profile (id <code>{ $reported }</code>):

    { $card }
action_ban = Ban
stats =
    <b>Users</b>: { $registered } registered ({ $participant } participants, { $cofounder } co-founders, { $team } teams), { $searching } searching, { $active_week } active this week, { $banned } banned, { $deleted } deleted
    <b>Teams</b>: { $teams }, with { $members } members
    <b>Invitations</b>: { $pending } pending; last 7 days: { $sent_week } sent, { $accepted_week } accepted, { $declined_week } declined, { $expired_week } expired
    <b>Reports</b> in the last 7 days: { $reports_week }
ban_usage = Usage: /ban &lt;user id&gt;
unban_usage = Usage: /unban &lt;user id&gt;
admin_no_user = There is no user with id { $id }.
admin_cannot_ban_admin = Admins cannot be banned.
banned_done = User { $id } is banned: hidden from search, pending invitations cancelled.
already_banned = User { $id } was already banned.
unbanned_done = User { $id } is no longer banned.
not_banned = User { $id } is not banned.
deleted = Your account is deleted. /start registers you again.
cmd_team = Your team
team_none = You are not in a team yet. Find one with /search, or ask a team for its join link. To lead a team of your own, register as a team: /profile → Edit profile.
team_card_members = { $count ->
    [one] { $count } member
   *[other] { $count } members
}
team_card_owner = owner
team_card_link_on = 🔗 The join link is active.
team_card_requests = { $count ->
    [one] One join request is waiting for an answer.
   *[other] { $count } join requests are waiting for an answer.
}
team_request = <b>{ $name }</b> asks to join the team.
action_team_name = ✏️ Name
action_team_description = ✏️ Description
action_team_roles = ✏️ Roles
action_team_link = 🔗 Join link
action_team_remove = Remove a member
action_team_transfer = Transfer ownership
action_team_delete = Delete team
action_team_leave = Leave team
action_team_revoke = Revoke link
action_team_yes = Yes
action_team_no = No
team_ask_name = Send the new team name (1 to { $max } characters), or /cancel.
team_ask_description = Send the new description (up to { $max } characters), or /cancel.
team_ask_roles = Whom does the team need? Send skill tags separated by commas (up to { $max }), or /cancel. Search matches the team by them.
team_roles_invalid = Send 1 to { $max } skill tags separated by commas: letters and digits, up to 32 characters each.
team_saved = Saved.
team_pick_remove = Whom should I remove from <b>{ $team }</b>?
team_pick_transfer = Who should own <b>{ $team }</b>?
team_no_others = There is nobody else in the team yet.
team_confirm_remove = Remove <b>{ $name }</b> from <b>{ $team }</b>?
team_removed = <b>{ $name }</b> is no longer in <b>{ $team }</b>.
team_removed_you = The owner removed you from the team <b>{ $team }</b>.
team_confirm_transfer = Make <b>{ $name }</b> the owner of <b>{ $team }</b>? Their profile becomes the team's card in search and join requests go to them. You stay in the team as a participant, with searching paused until you update /profile.
team_transferred = <b>{ $name }</b> now owns <b>{ $team }</b>. You are a participant in the team; your searching is paused until you update /profile.
team_transferred_you = You now own <b>{ $team }</b>: your profile is the team's card in search, and join requests come to you. /team to manage it.
team_transferred_members = <b>{ $name }</b> is now the owner of <b>{ $team }</b>.
team_confirm_delete = Delete <b>{ $team }</b> for good? Its members are told, its join link and invitations go with it. You keep your account as a participant, with searching paused until you update /profile.
team_deleted = The team <b>{ $team }</b> is deleted. You are a participant now; searching is paused until you update /profile.
team_deleted_members = The team <b>{ $team }</b> was deleted by its owner. Find another one: /search
team_confirm_leave = Leave <b>{ $team }</b>?
team_left = You left <b>{ $team }</b>.
team_left_owner = <b>{ $name }</b> left <b>{ $team }</b>.
team_kept = Kept. Nothing changed.
team_link =
    Anyone with this link can ask to join <b>{ $team }</b>:
    { $link }
    Requests come to the owner and show in /team for every member.
team_link_revoked = The link is revoked: it no longer works.
team_link_none = There is no active join link.
team_link_invalid = This join link no longer works. Ask the team for a new one.
team_join_sent = Your request to join <b>{ $team }</b> is sent. You will hear back when they answer.
team_join_already = You are already in the team <b>{ $team }</b>.
team_join_register = To ask to join <b>{ $team }</b>, register first; I send the request as soon as you are done.
team_request_accepted = <b>{ $name }</b> accepted your request: you are now a member of <b>{ $team }</b>. Reach them at { $contact }.
team_request_accepted_by = <b>{ $name }</b> is now in the team. Reach them at { $contact }.
team_request_accepted_owner = <b>{ $actor }</b> accepted <b>{ $name }</b> into <b>{ $team }</b>.
team_request_declined = Your request to join <b>{ $team }</b> was declined this time. Keep looking: /search
team_request_declined_by = Declined: <b>{ $name }</b> will not join.
team_request_in_team = They are already in another team; the request is closed.
team_gone = You are not in this team, or it no longer exists.
team_not_owner = Only the team's owner can do that.
team_member_gone = They are no longer in the team.
team_self = That is you.
team_owner_cannot_leave = The owner cannot leave: transfer ownership or delete the team.


## Search (cards, notes, empty answers)
# why a search is empty, and what to do: added after search_empty, search_empty_filtered or
# search_empty_left_out. $hint: wait (they get the daily digest), add_wants (no looking-for
# tags: no digest), paused (their own search is paused: no digest)
search_hint = { $hint ->
    [paused] Your own search is paused, so I do not tell you about new people: /profile → Resume searching.
    [add_wants] Add whom you look for in /profile (Edit profile → Looking for): when someone new has it, I will let you know.
   *[wait] New people join every day: when someone who has what you look for arrives, I will let you know (at most once a day).
}
# everyone who fits is hidden by them or has a pending invitation with them (counts)
search_empty_left_out = { $pending ->
    [0] { $hidden ->
        [1] The only one who fits you right now is someone you hid.
       *[other] Everyone who fits you right now ({ $hidden }) is someone you hid.
    }
   *[other] { $hidden ->
        [0] { $pending ->
            [1] The only one who fits you right now already has a pending invitation with you: see /invitations.
           *[other] Everyone who fits you right now ({ $pending }) already has a pending invitation with you: see /invitations.
        }
       *[other] Everyone who fits you right now is someone you hid ({ $hidden }) or already has a pending invitation with you ({ $pending }, see /invitations).
    }
}
# a short answer to Next on the last card (at most 200 characters); $hint as in search_hint
search_end = { $hint ->
    [paused] That is everyone for now. Your search is paused, so I do not tell you about new people: /profile → Resume searching.
    [add_wants] That is everyone for now. Add whom you look for in /profile to hear about new matches; /search starts again from the top.
   *[wait] That is everyone for now. I will let you know when someone new matches; /search starts again from the top.
}
card_teammate = You are in the same team already.
note_stale = Nothing was sent: this question is closed. To start again, press the button on the card.


## Invitations, join requests and teams

connect_sent = Your offer to connect is sent to <b>{ $name }</b>. You will hear back when they answer.
outgoing_request = Your request to join <b>{ $team }</b> is waiting for an answer.
outgoing_connect = Your offer to connect with <b>{ $name }</b> is waiting for an answer.
action_withdraw_request = Withdraw request
action_withdraw_connect = Withdraw offer
unreachable = ⚠️ <b>{ $name }</b> is not getting my messages right now (the chat with me is closed), so may not see this soon.
invite_accepted_you = You are now a member of <b>{ $team }</b>. Reach <b>{ $name }</b> at { $contact }.
invite_accepted_them = <b>{ $name }</b> accepted your invitation and is now in <b>{ $team }</b>. Reach them at { $contact }.
invite_declined_you = You declined the invitation to <b>{ $team }</b>.
invite_declined_them = <b>{ $name }</b> declined your invitation to <b>{ $team }</b> this time. Keep looking: /search
invite_cancelled = Your invitation to <b>{ $name }</b> is cancelled.
invite_in_team = You are already in the team <b>{ $team }</b>. To accept this invitation, leave it first (/team); the invitation waits until it expires.
request_cancelled = Your request to join <b>{ $team }</b> is withdrawn.
request_expired = Your request to join <b>{ $team }</b> expired without an answer. Keep looking: /search
connect_accepted_you = You are connected with <b>{ $name }</b>. Reach them at { $contact }.
connect_accepted_them = <b>{ $name }</b> accepted your offer to connect. Reach them at { $contact }.
connect_declined_you = You declined the offer to connect.
connect_declined_them = <b>{ $name }</b> declined your offer to connect this time. Keep looking: /search
connect_cancelled = Your offer to connect with <b>{ $name }</b> is withdrawn.
connect_expired = Your offer to connect with <b>{ $name }</b> expired without an answer.
closed_accepted = ✓ Accepted
closed_accepted_by = ✓ Accepted by <b>{ $name }</b>
closed_declined = ✗ Declined
closed_declined_by = ✗ Declined by <b>{ $name }</b>
closed_cancelled = Cancelled
closed_expired = ⌛ Expired without an answer


## Registration input, profile and group chats
tags_not_tags = Not taken: { $tags }: a skill is written with letters and digits.
tags_too_long = Not taken: { $tags }: a skill is up to { $max } characters.
tags_repeated = Already on the list: { $tags }.
tags_over_limit = Not added: { $tags }: the list holds at most { $max }. Remove one to add another.
tags_and_more = { $tags } and { $more } more
tags_text_too_long = That is too long for a list of skills. Send up to { $max } short skills, separated by commas.
too_long_continued = That was the rest of the same long text (Telegram sent it in parts): { $length } characters in all; the limit is { $max }. Nothing is saved: please send a shorter text.
edit_back = ← Back
private_only = I work in private chats only, so that profiles and invitations stay between the people they concern. Tap below to talk to me.
private_only_open = Open a private chat
private_only_button = This works only in the private chat with me.


## Throttle, failures and stale buttons


## Dashboard
dashboard_link = Your dashboard link: { $url }
    It works once, for 10 minutes, in the browser you open it in. Send /dashboard again for a new one.
dashboard_not_configured = The dashboard is not configured: the operator sets DASHBOARD_SECRET (and PUBLIC_URL, where admins reach the bot's web page) in the bot's settings.
dashboard_open_app = Open in Telegram

# the dashboard's web page (plain text: the page escapes it); $name an event's name,
# $starts / $ends its dates as the page writes them
dashboard_page_everyone = Dashboard: everyone
dashboard_page_event = Dashboard: { $name }
dashboard_page_language = Language:
dashboard_page_nav_everyone = Everyone
dashboard_page_nav_ended = { $name } (ended)
dashboard_page_event_running = { $name }: { $starts } – { $ends }, running. Counts are of the event's pool.
dashboard_page_event_ended = { $name }: { $starts } – { $ends }, ended. Counts are of the event's pool.
dashboard_page_download = Download:
dashboard_page_teams_csv = teams and members (CSV)
dashboard_page_looking_csv = people still looking (CSV)
dashboard_page_funnel = Funnel
dashboard_page_registrations = Registrations per day (UTC)
dashboard_page_requests = Requests per day (UTC): sent, accepted, declined, expired
dashboard_page_join_delays = Time from registering to joining a team
dashboard_page_team_sizes = Teams by size (members)
dashboard_page_skills = Skills offered and sought by people still looking
dashboard_page_looking = Still without a team and active: { $count }
dashboard_stage_started = Started the bot
dashboard_stage_registered = Registered
dashboard_stage_searched = Searched
dashboard_stage_requested = Sent a request
dashboard_stage_accepted = Accepted (either way)
dashboard_stage_in_team = In a team
dashboard_column_stage = stage
dashboard_column_people = people
dashboard_column_share = of started
dashboard_column_name = name
dashboard_column_username = username
dashboard_column_type = type
dashboard_column_skills = skills
dashboard_column_looking_for = looking for
dashboard_column_links = links
dashboard_type_participant = participant
dashboard_type_cofounder = co-founder
dashboard_type_team = team
dashboard_series_registered = registered
dashboard_series_sent = sent
dashboard_series_accepted = accepted
dashboard_series_declined = declined
dashboard_series_expired = expired
dashboard_series_people = people
dashboard_series_teams = teams
dashboard_series_offered = offered
dashboard_series_sought = sought
dashboard_delay_hour = under 1 h
dashboard_delay_day = 1–24 h
dashboard_delay_days = 1–3 days
dashboard_delay_week = 3–7 days
dashboard_delay_weeks = 1–2 weeks
dashboard_delay_more = 2 weeks +
dashboard_page_short_supply = Short supply: { $skills }.
dashboard_page_no_shortage = No shortage.
dashboard_page_nothing_yet = Nothing yet.
dashboard_page_nobody = Nobody.
dashboard_page_more = The { $shown } most recently active shown; the CSV has all { $total }.
dashboard_page_sign_in = Sign in
dashboard_page_refused = Link refused
dashboard_page_ask_the_bot = Send /dashboard to the bot for a new link (admins only).
dashboard_page_forged = This link or session is not valid.
dashboard_page_expired = This link or session has expired.
dashboard_page_used = This link was used already: each link lets in once.
dashboard_page_not_admin = This account is no longer an admin of the bot.
dashboard_page_open = Open the dashboard
dashboard_page_once = The link works once and for 10 minutes.
dashboard_page_app = Open the dashboard from the bot's button in Telegram.
dashboard_page_no_event = No such event.
dashboard_page_back = Back to everyone
dashboard_page_not_found = There is no such page.
dashboard_page_not_found_title = Not found
dashboard_page_try_again = Try again soon
dashboard_page_no_database = The database is not reachable now.
dashboard_page_not_configured_title = Not configured
dashboard_page_not_configured = The dashboard is not configured: set DASHBOARD_SECRET in the bot's settings.

## Ranking

# the reasons on a /search card (at most three, strongest first); $band: h_under_10, h_10_20,
# h_20_40, h_full_time; $role: technical, product, design, business, science; $stage: exploring,
# idea, prototype, users, revenue
rank_band = { $band ->
    [h_under_10] under 10 h a week
    [h_10_20] 10–20 h a week
    [h_20_40] 20–40 h a week
   *[h_full_time] full time
}
rank_role = { $role ->
    [technical] technical
    [product] product
    [design] design
    [business] business and sales
   *[science] science
}
reason_both_hours = Both { $band }
reason_hours = Works { $band }, close to you
reason_time_zone = { $hours ->
    [0] Same time zone
   *[other] ±{ $hours } h time zones
}
reason_both_remote = Both work remotely
reason_same_city = Both on site in { $city }
reason_role = Role: { $role }, as you want
reason_needs_you = Needs { $role ->
    [technical] a technical person
    [product] a product person
    [design] a designer
    [business] a business person
   *[science] a scientist
}: you are one
reason_stage = Stage: { $stage ->
    [exploring] just exploring
    [idea] an idea
    [prototype] a prototype
    [users] has users
   *[revenue] has revenue
}
reason_language = Speaks { $languages }, like you
# quick filters under a /search card: $role / $band "any" when not set
rank_filter_role = Role: { $role ->
    [any] any
    [technical] technical
    [product] product
    [design] design
    [business] business
   *[science] science
}
rank_filter_hours = { $band ->
    [any] Hours: any
    [h_under_10] Under 10 h
    [h_10_20] 10–20 h
    [h_20_40] 20–40 h
   *[h_full_time] Full time
}
rank_filter_remote = { $on ->
    [yes] ✓ Remote
   *[no] Remote: any
}
rank_scope_event = Only { $event }
rank_scope_everyone = Everyone
rank_in_event = Among the people of { $event }.
# the empty answer when a must-have of the searcher's leaves out most people
rank_blocker = Your must-have «{ $criterion ->
    [commitment] commitment
    [time_zone] time zone
    [work_mode] remote or on site
    [role] role focus
    [stage] stage
   *[language] language
}» leaves out the most people.
rank_relax = Search once without it
rank_relaxed = Searching once without your must-have «{ $criterion ->
    [commitment] commitment
    [time_zone] time zone
    [work_mode] remote or on site
    [role] role focus
    [stage] stage
   *[language] language
}».

## Events
cmd_events = Your events
event_ask_name = A new event. What is it called? (up to { $max } characters; /cancel to stop)
event_name_invalid = An event's name is 1 to { $max } characters. Please send it again.
event_ask_starts = When does it start? Tap a button or send the date as 2026-12-10 or 10.12.2026.
event_today = Today
event_tomorrow = Tomorrow
event_date_invalid = I could not read that date. Send it as 2026-12-10 or 10.12.2026.
event_ask_ends = It starts on { $starts }. When does it end?
event_same_day = The same day
event_week_later = A week later
event_ends_before_start = It cannot end before it starts ({ $starts }). Send another end date.
event_ends_in_past = That day has passed. Send an end date from today on.
event_ask_size = At most how many people in a team? Tap a number, send one from 2 to { $max }, or tap "No limit".
event_no_limit = No limit
event_size_invalid = Send a number from 2 to { $max }, or tap "No limit".
event_size_none = no team size limit
event_size_limit = teams of up to { $size }
event_created = The event <b>{ $event }</b> is ready: { $dates }, { $size }.
    Share this link; whoever opens it joins the event (newcomers register first):
    { $link }
event_card_people = { $count ->
    [one] 1 person
   *[other] { $count } people
}
event_card_ended = ended
action_event_fill = Suggest teams for everyone left
action_event_end = End the event
event_none_yet = There are no events yet. Create one: /event new
event_mine_none = You are not in any event. Organizers share a link that adds you to theirs.
event_mine = Your events:
    { $events }
event_already_ended = This event has already ended.
event_ended_done = «{ $event }» has ended.
event_ended_short = This event has ended.
event_fill_nobody = Nobody to group: everyone in this event has a team, is waiting for an answer to a proposal, or has nobody who complements them.
event_link_unknown = This event link leads nowhere. Please check it with the organizers.
event_link_ended = The event <b>{ $event }</b> has ended: it takes no new people. Thank you for your interest!
event_already_in = You are already in <b>{ $event }</b>. /search shows its people.
event_already_in_short = You are already in this event.
event_invite = <b>{ $event }</b> · { $dates }
    Join to find teammates among its people.
action_event_join = Join { $event }
event_joined = You are in <b>{ $event }</b>. /search shows its people.
event_register = Welcome! To join <b>{ $event }</b>, first tell me a little about yourself; it takes a minute.
event_proposal = <b>{ $event }</b>: the organizers suggest a team of { $count } (group { $number }):
    { $members }
    Nobody joins until everyone in the group accepts.
event_proposal_waiting = ✓ You accepted. Waiting for the others.
event_proposal_formed_line = ✓ Everyone accepted: the team is formed.
event_proposal_declined_you = ✗ You declined. You stay in the event and can keep looking: /search
event_proposal_failed_line = ✗ This team did not come together.
event_proposal_answered = You have already answered.
event_proposal_closed = This proposal is closed.
event_proposal_expired = This proposal expired without everyone's answer.
event_team_formed = Everyone accepted: you are a team, <b>{ $team }</b> (<b>{ $event }</b>). Say hello:
    { $members }
    /team shows the team.
event_proposal_declined = The team suggested in <b>{ $event }</b> (group { $number }) did not come together: someone declined. You stay in the event; /search to keep looking.
event_proposal_unavailable = The team suggested in <b>{ $event }</b> (group { $number }) could not be formed: someone in it has joined another team meanwhile. You stay in the event; /search to keep looking.
event_fill_report = Auto-fill for <b>{ $event }</b>: { $groups ->
    [one] 1 group
   *[other] { $groups } groups
} with { $people } people.
    Accepted: { $accepted } · declined: { $declined } · waiting: { $waiting }
    Teams formed: { $formed } · not formed: { $failed }
    Without a group this time: { $unplaced }
## Broadcast
broadcast_ask = Write the announcement in one message, up to { $max } characters. Before anything is sent, you will see it exactly as people will get it and how many will get it. /cancel stops here.
broadcast_text_only = An announcement is a text message. Please write it as text.
broadcast_too_long = That is { $length } characters; an announcement can have up to { $max }. Please make it shorter.
broadcast_choose = Who should get it? The numbers say how many people would get it now.
broadcast_everyone = Everyone registered ({ $count })
broadcast_teamless = People without a team ({ $count })
broadcast_event = { $name } ({ $count })
broadcast_cancel = Cancel
broadcast_audience = { $kind ->
    [teamless] people without a team
    [event] the pool of { $name }
   *[everyone] everyone registered
}
broadcast_chosen = Recipients: { $audience }.
broadcast_confirm = Above is the announcement as people will get it (the last line in each person's language). Recipients: { $audience }, { $count } in all. People who turned announcements off, are banned or have blocked the bot are not counted.
broadcast_send = Send to { $count }
broadcast_nobody = Nobody here takes announcements right now. Choose someone else.
broadcast_nobody_now = Nothing was sent: nobody in this audience takes announcements any more.
broadcast_dropped = The announcement was not sent.
broadcast_started = Sending has started.
broadcast_progress = 📣 Announcement to { $total } { $total ->
        [one] person
       *[other] people
    }
    Delivered: { $delivered } · not delivered: { $undelivered } · skipped: { $skipped } · remaining: { $remaining }
broadcast_stop = ⏹ Stop sending
broadcast_stopping = Stopping. Messages already on their way will still arrive.
broadcast_finished_already = This announcement has already finished.
broadcast_done = ✓ Done. Not delivered: people who blocked the bot. Skipped: people who turned announcements off or left before their turn.
broadcast_stopped = ⏹ Stopped. The remaining people will not get it.
broadcast_footer = An announcement from the organizers. To stop getting them: /profile → Turn announcements off.
announcements_on = 🔔 Announcements from the organizers: on.
announcements_off = 🔕 Announcements from the organizers: off.
action_announcements_off = Turn announcements off
action_announcements_on = Turn announcements on
announcements_turned_off = You will not get announcements any more.
announcements_turned_on = You will get announcements again.

## Profile fields
pf_hours_value = { $value ->
    [under_10] under 10 h a week
    [ten_to_20] 10–20 h a week
    [twenty_to_40] 20–40 h a week
   *[full_time] full time
}
pf_from_value = { $value ->
    [now] from now
    [month] within a month
   *[later] later on
}
pf_mode_value = { $value ->
    [remote] remote
    [on_site] on site
   *[either] remote or on site
}
pf_role_value = { $value ->
    [technical] technical
    [product] product
    [design] design
    [business] business / sales
   *[science] science
}
pf_stage_value = { $value ->
    [exploring] just exploring
    [idea] an idea
    [prototype] a prototype
    [users] has users
   *[revenue] has revenue
}
pf_card_commitment = Commitment
pf_card_time_zone = Time zone
pf_card_work_mode = Works
pf_card_focus = Focus
pf_card_needs = Needs
pf_card_size = Team of up to { $size } people
pf_card_stage = Stage
pf_card_languages = Speaks
pf_card_links = Links
pf_ask_hours = How much time can you give a week? (You can skip any of these questions.)
pf_ask_from = From when?
pf_ask_time_zone =
    Your time zone: tap your UTC offset, or type your city (for example <i>Berlin</i>) or an offset (<i>UTC+5:30</i>).
pf_ask_work_mode = Remote or on site?
pf_ask_city = Which city? (up to { $max } characters)
pf_ask_focus = What is your focus?
pf_ask_needs = Which roles does the team still need? Tap all that apply, then Done.
pf_ask_size = How many people should the team be, at most?
pf_ask_stage = How far along is it?
pf_ask_languages = Which languages do you speak? Tap all that apply, then Done.
pf_ask_links =
    Links others may open from your card: GitHub, LinkedIn, a portfolio (up to { $max }). Send them in one message, for example <i>github.com/yourname</i>.
    Now: { $chosen }
pf_links_clear = Remove links
pf_clear = Clear
pf_skip_rest = Finish later ⏭
pf_time_zone_unknown =
    I don't know the city «{ $typed }». Try a bigger city nearby (for example <i>Berlin</i>), or send your offset from UTC, such as <i>UTC+3</i> or <i>-4</i>. The buttons above work too.
pf_city_invalid = A city name is 1 to { $max } characters. Please try again.
pf_link_not_a_link = Not added: { $link } does not look like a web address. Send it like <i>github.com/yourname</i>.
pf_link_unsafe = Not added: { $link }. Only ordinary web pages (https) can go on a card.
pf_link_too_long = Not added: { $link } is longer than { $max } characters.
pf_link_repeated = Already on your card: { $links }.
pf_links_over_limit = Not added: { $links }. A card holds up to { $max } links; remove them to add others.
pf_edit_hours = Commitment
pf_edit_time_zone = Time zone
pf_edit_work_mode = Remote / on site
pf_edit_focus = Role focus
pf_edit_needs = Roles needed
pf_edit_stage = Stage
pf_edit_languages = Languages
pf_edit_links = Links
action_preferences = Preferences
pf_pref_name = { $pref ->
    [commitment] Commitment
    [time_zone] Time zone
    [work_mode] Remote / on site
    [role] Role focus
    [stage] Stage
   *[language] Language
}
pf_level_value = { $value ->
    [must] must-have
    [nice] nice to have
   *[dont_care] don't care
}
pf_prefs_intro =
    What matters to you in the people you meet? For each, choose: must-have (only people who fit), nice to have (they come first) or don't care.
pf_pref_detail = <b>{ $pref }</b>: { $level }.
pf_pref_time_zone_hours = At most ± { $hours } h from my time zone.
pf_pref_roles = Which roles: { $chosen }
pf_pref_stages = Which stages: { $chosen }
pf_pref_same = Same as mine, when both of us said it.
pf_hours_within = ± { $hours } h
pf_offer =
    There is more you can tell others now: commitment, time zone, remote or on site, focus, languages and links. It helps the right people find you.
pf_offer_complete = Complete my profile
pf_offer_later = Not now
pf_offer_later_answer = All right. /profile has them whenever you like.
pf_pref_time_zone_unset = Your own time zone is not set yet: add it under Edit profile → Time zone.



## Saved and nudge
cmd_saved = People you saved
action_save = ☆ Save
saved_added = Saved: find them in /saved.
saved_already = Already saved: they are in /saved.
saved_title = Saved for later ({ $count }):
saved_more = { $count ->
    [one] …and { $count } more profile: remove someone above to see it.
   *[other] …and { $count } more profiles: remove someone above to see them.
}
saved_empty = You have not saved anyone yet. Press ☆ Save under a card in /search to keep someone for later.
saved_invite = { $n }. { $action }
saved_remove = Remove { $n }
saved_removed = Removed from your saved list.
saved_not_listed = They are no longer on your saved list.
still_looking =
    Still looking? You have not been here for a while: in { $days ->
        [one] a day
       *[other] { $days } days
    } your search will be paused and nobody will see your profile.
action_still_looking = Yes, keep me
action_pause_now = Pause
still_looking_kept = ✓ Glad you are still looking: you stay in search.
still_looking_paused = ⏸ Your search is paused: nobody sees your profile now. To come back: /profile → Resume searching.
still_looking_was_paused = Your search is paused already. To come back: /profile → Resume searching.

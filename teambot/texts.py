"""User-facing texts, one catalog per language."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("en", "ru")

_CATALOG: Final[dict[str, dict[str, str]]] = {
    "en": {
        "start": (
            "Hi, {name}! I am the Launch Lab teammate finder.\n"
            "I help participants, co-founders and teams find each other. /help tells how."
        ),
        "help": (
            "/start — register or open the menu; /search — people and teams that match you\n"
            "/invitations — answer or cancel invitations; /team — your team and its join link\n"
            "/profile — edit or pause your profile; /language; /cancel leaves any dialogue"
        ),
        "throttled": "Slow down a little: try again in {seconds} s.",
        "failed": "Sorry, something went wrong on my side. Please try again.",
        "cmd_start": "Register or open the menu",
        "cmd_help": "How the bot works",
        "choose_language": "Choose your language:",
        "choose_role": (
            "Who are you here?\n"
            "• <b>Participant</b>: you want to join a team\n"
            "• <b>Co-founder</b>: you look for a co-founder to start something\n"
            "• <b>Team</b>: you look for people"
        ),
        "role_participant": "Participant",
        "role_cofounder": "Co-founder",
        "role_team": "Team",
        "ask_name": "How should others see your name? Type it, or keep the one from Telegram.",
        "keep_name": "Keep «{name}»",
        "name_invalid": "A name is 1 to 64 characters. Please try again.",
        "ask_skills": (
            "What can you do? Tap skills below or type your own, separated by commas "
            "(up to {max}).\nChosen: {chosen}"
        ),
        "ask_wants": (
            "Whom or what skills are you looking for? Tap or type, then press Done.\n"
            "Chosen: {chosen}"
        ),
        "nothing_chosen": "nothing yet",
        "done": "Done ✓",
        "skills_full": "That is {max} already: remove one to add another.",
        "skills_refused": "Not a skill tag: {text}. Use letters and digits, up to 32 characters.",
        "ask_bio": "A few words about you (up to {max} characters), or skip.",
        "skip": "Skip",
        "bio_too_long": "That is {length} characters; the limit is {max}. Please shorten it.",
        "ask_team_name": "What is your team called?",
        "team_name_invalid": "A team name is 1 to 100 characters. Please try again.",
        "ask_team_description": (
            "What is the team building, and whom does it need? (up to {max} characters, or skip)"
        ),
        "confirm_profile": "This is how others will see you:\n\n{card}\n\nAll correct?",
        "confirm": "Confirm ✓",
        "start_over": "Start over",
        "registered": "You are registered and visible in search. /search to find matches.",
        "cancelled": "Cancelled. /start to begin again.",
        "nothing_to_cancel": "Nothing to cancel.",
        "menu": (
            "Welcome back, {name}!\n"
            "/search — find matches\n/profile — your profile\n/invitations — invitations\n"
            "/team — your team\n/language — language"
        ),
        "stale_button": "This button is no longer active.",
        "unknown_input": "I did not get that. /help lists what I can do.",
        "language_set": "Language: English.",
        "banned": "Your account is blocked by the moderators.",
        "card_skills": "Skills",
        "card_wants": "Looking for",
        "card_team": "Team",
        "no_value": "—",
        "cmd_search": "Find matches",
        "cmd_profile": "Your profile",
        "cmd_language": "Change language",
        "cmd_cancel": "Leave the current dialogue",
        "why_they_have": "Has what you look for: {tags}",
        "why_they_want": "Looks for what you have: {tags}",
        "why_recent": "Recently active and looking.",
        "position": "{n} of {total}",
        "position_more": "{n} of {total}+",
        "action_invite": "Invite to team",
        "action_request": "Ask to join",
        "action_connect": "Connect",
        "action_next": "Next ▶",
        "action_hide": "Hide",
        "action_report": "Report",
        "search_empty": (
            "No matches right now. Add skills you look for in /profile, "
            "or come back later: new people join every day."
        ),
        "search_empty_filtered": "Nobody with «{skill}» right now. Try /search without a skill.",
        "register_first": "Register first: /start.",
        "hidden": "Hidden: you will not see them again.",
        "reported": "Thank you, the moderators will look at it.",
        "ask_note": "Add a short note (up to {max} characters), or send without one.",
        "send_without_note": "Send without a note",
        "invite_sent": "Sent. You will hear back when they answer.",
        "invite_not_allowed": "You cannot send this kind of invitation.",
        "invite_gone": "This profile is no longer available.",
        "invite_quota": "That is {per_day} invitations in 24 hours, the limit. Try again tomorrow.",
        "invite_already_pending": "There is already a pending invitation between you two.",
        "action_cancel_invite": "Cancel invitation",
        "action_accept": "Accept ✓",
        "action_decline": "Decline",
        "incoming_invite": "<b>{name}</b> invites you to join their team.",
        "incoming_request": "<b>{name}</b> asks to join your team.",
        "incoming_connect": "<b>{name}</b> would like to connect as co-founders.",
        "no_invitations": "No pending invitations.",
        "outgoing": "You invited <b>{name}</b>; waiting for an answer.",
        "invitation_stale": "This invitation is no longer pending.",
        "accepted_you": "Accepted. Reach them at {contact}.",
        "accepted_them": "<b>{name}</b> accepted! Reach them at {contact}.",
        "joined_team": "You are now a member of <b>{team}</b>.",
        "declined_you": "Declined.",
        "declined_them": "<b>{name}</b> declined your invitation this time. Keep looking: /search",
        "cancelled_you": "Invitation cancelled.",
        "expired_sender": "Your invitation to <b>{name}</b> expired without an answer.",
        "cmd_invitations": "Pending invitations",
        "action_resume": "Resume searching",
        "action_pause": "Pause searching",
        "action_edit": "Edit profile",
        "action_delete": "Delete account",
        "paused_inactive": (
            "You have not been here for {days} days, so I paused your search: nobody will "
            "see you until you come back."
        ),
        "searching_on": "🟢 Visible in search.",
        "searching_off": "⏸ Searching paused: others do not see you.",
        "resumed": "Searching again.",
        "paused": "Searching paused.",
        "delete_confirm": (
            "Delete your account? You disappear from search at once, pending invitations "
            "are cancelled, and your data is erased after {days} days."
        ),
        "delete_yes": "Yes, delete",
        "delete_no": "No, keep it",
        "delete_kept": "Kept. Nothing changed.",
        "delete_confirm_team": "Your team <b>{team}</b> is deleted with it; its members are told.",
        "edit_which": "What would you like to change?",
        "edit_name": "Name",
        "edit_skills": "Skills",
        "edit_wants": "Looking for",
        "edit_bio": "About me",
        "edit_all": "Everything (start over)",
        "edit_discard": "Discard",
        "profile_updated": "Saved. /profile shows your card.",
        # --- matcher
        "digest": "New profiles match you: {counts}. Take a look: /search",
        "digest_participant": "participants",
        "digest_cofounder": "co-founders",
        "digest_team": "teams",
        # --- admin
        "report_to_admin": (
            "⚠️ User {reporter} reported this profile (id <code>{reported}</code>):\n\n{card}"
        ),
        "action_ban": "Ban",
        "stats": (
            "<b>Users</b>: {registered} registered ({participant} participants, "
            "{cofounder} co-founders, {team} teams), {searching} searching, "
            "{active_week} active this week, {banned} banned, {deleted} deleted\n"
            "<b>Teams</b>: {teams}, with {members} members\n"
            "<b>Invitations</b>: {pending} pending; last 7 days: {sent_week} sent, "
            "{accepted_week} accepted, {declined_week} declined, {expired_week} expired\n"
            "<b>Reports</b> in the last 7 days: {reports_week}"
        ),
        "ban_usage": "Usage: /ban &lt;user id&gt;",
        "unban_usage": "Usage: /unban &lt;user id&gt;",
        "admin_no_user": "There is no user with id {id}.",
        "admin_cannot_ban_admin": "Admins cannot be banned.",
        "banned_done": "User {id} is banned: hidden from search, pending invitations cancelled.",
        "already_banned": "User {id} was already banned.",
        "unbanned_done": "User {id} is no longer banned.",
        "not_banned": "User {id} is not banned.",
        "deleted": "Your account is deleted. /start registers you again.",
        # --- teams
        "cmd_team": "Your team",
        "team_none": (
            "You are not in a team yet. Find one with /search, or ask a team for its join "
            "link. To lead a team of your own, register as a team: /profile → Edit profile."
        ),
        "team_card_members": "Members ({count})",
        "team_card_owner": "owner",
        "team_card_link_on": "🔗 The join link is active.",
        "team_card_requests": "Join requests waiting for an answer: {count}.",
        "team_request": "<b>{name}</b> asks to join the team.",
        "action_team_name": "✏️ Name",
        "action_team_description": "✏️ Description",
        "action_team_roles": "✏️ Roles",
        "action_team_link": "🔗 Join link",
        "action_team_remove": "Remove a member",
        "action_team_transfer": "Transfer ownership",
        "action_team_delete": "Delete team",
        "action_team_leave": "Leave team",
        "action_team_revoke": "Revoke link",
        "action_team_yes": "Yes",
        "action_team_no": "No",
        "team_ask_name": "Send the new team name (1 to {max} characters), or /cancel.",
        "team_ask_description": "Send the new description (up to {max} characters), or /cancel.",
        "team_ask_roles": (
            "Whom does the team need? Send skill tags separated by commas (up to {max}), "
            "or /cancel. Search matches the team by them."
        ),
        "team_roles_invalid": (
            "Send 1 to {max} skill tags separated by commas: letters and digits, up to 32 "
            "characters each."
        ),
        "team_saved": "Saved.",
        "team_pick_remove": "Whom should I remove from <b>{team}</b>?",
        "team_pick_transfer": "Who should own <b>{team}</b>?",
        "team_no_others": "There is nobody else in the team yet.",
        "team_confirm_remove": "Remove <b>{name}</b> from <b>{team}</b>?",
        "team_removed": "<b>{name}</b> is no longer in <b>{team}</b>.",
        "team_removed_you": "The owner removed you from the team <b>{team}</b>.",
        "team_confirm_transfer": (
            "Make <b>{name}</b> the owner of <b>{team}</b>? Their profile becomes the team's "
            "card in search and join requests go to them. You stay in the team as a "
            "participant, with searching paused until you update /profile."
        ),
        "team_transferred": (
            "<b>{name}</b> now owns <b>{team}</b>. You are a participant in the team; your "
            "searching is paused until you update /profile."
        ),
        "team_transferred_you": (
            "You now own <b>{team}</b>: your profile is the team's card in search, and join "
            "requests come to you. /team to manage it."
        ),
        "team_transferred_members": "<b>{name}</b> is now the owner of <b>{team}</b>.",
        "team_confirm_delete": (
            "Delete <b>{team}</b> for good? Its members are told, its join link and "
            "invitations go with it. You keep your account as a participant, with searching "
            "paused until you update /profile."
        ),
        "team_deleted": (
            "The team <b>{team}</b> is deleted. You are a participant now; searching is paused "
            "until you update /profile."
        ),
        "team_deleted_members": (
            "The team <b>{team}</b> was deleted by its owner. Find another one: /search"
        ),
        "team_confirm_leave": "Leave <b>{team}</b>?",
        "team_left": "You left <b>{team}</b>.",
        "team_left_owner": "<b>{name}</b> left <b>{team}</b>.",
        "team_kept": "Kept. Nothing changed.",
        "team_link": (
            "Anyone with this link can ask to join <b>{team}</b>:\n{link}\n"
            "Requests come to the owner and show in /team for every member."
        ),
        "team_link_revoked": "The link is revoked: it no longer works.",
        "team_link_none": "There is no active join link.",
        "team_link_invalid": "This join link no longer works. Ask the team for a new one.",
        "team_join_sent": (
            "Your request to join <b>{team}</b> is sent. You will hear back when they answer."
        ),
        "team_join_already": "You are already in the team <b>{team}</b>.",
        "team_join_register": (
            "To ask to join <b>{team}</b>, register first; I send the request as soon as you "
            "are done."
        ),
        "team_request_accepted": (
            "<b>{name}</b> accepted your request: you are now a member of <b>{team}</b>. "
            "Reach them at {contact}."
        ),
        "team_request_accepted_by": "<b>{name}</b> is now in the team. Reach them at {contact}.",
        "team_request_accepted_owner": "<b>{actor}</b> accepted <b>{name}</b> into <b>{team}</b>.",
        "team_request_declined": (
            "Your request to join <b>{team}</b> was declined this time. Keep looking: /search"
        ),
        "team_request_declined_by": "Declined: <b>{name}</b> will not join.",
        "team_request_in_team": "They are already in another team; the request is closed.",
        "team_gone": "This team no longer exists.",
        "team_not_member": "You are not in this team.",
        "team_not_owner": "Only the team's owner can do that.",
        "team_member_gone": "They are no longer in the team.",
        "team_self": "That is you.",
        "team_owner_cannot_leave": "The owner cannot leave: transfer ownership or delete the team.",
    },
    "ru": {
        "start": (
            "Привет, {name}! Я бот Launch Lab для поиска команды.\n"
            "Помогаю участникам, кофаундерам и командам найти друг друга. Подробнее: /help."
        ),
        "help": (
            "/start — регистрация или меню; /search — люди и команды, которые вам подходят\n"
            "/invitations — ответить на приглашения или отменить их; /team — ваша команда\n"
            "/profile — изменить или приостановить профиль; /language; /cancel — выйти из диалога"
        ),
        "throttled": "Слишком часто: попробуйте снова через {seconds} с.",
        "failed": "Извините, у меня что-то пошло не так. Попробуйте ещё раз.",
        "cmd_start": "Регистрация или меню",
        "cmd_help": "Как работает бот",
        "choose_language": "Выберите язык:",
        "choose_role": (
            "Кто вы здесь?\n"
            "• <b>Участник</b>: хотите присоединиться к команде\n"
            "• <b>Кофаундер</b>: ищете сооснователя, чтобы начать своё дело\n"
            "• <b>Команда</b>: ищете людей"
        ),
        "role_participant": "Участник",
        "role_cofounder": "Кофаундер",
        "role_team": "Команда",
        "ask_name": "Как другим вас называть? Напишите имя или оставьте имя из Telegram.",
        "keep_name": "Оставить «{name}»",
        "name_invalid": "Имя — от 1 до 64 символов. Попробуйте ещё раз.",
        "ask_skills": (
            "Что вы умеете? Нажмите на навыки ниже или напишите свои через запятую "
            "(до {max}).\nВыбрано: {chosen}"
        ),
        "ask_wants": (
            "Кого или какие навыки вы ищете? Нажмите или напишите, затем «Готово».\n"
            "Выбрано: {chosen}"
        ),
        "nothing_chosen": "пока ничего",
        "done": "Готово ✓",
        "skills_full": "Уже {max}: уберите один навык, чтобы добавить другой.",
        "skills_refused": "Это не навык: {text}. Буквы и цифры, до 32 символов.",
        "ask_bio": "Пара слов о себе (до {max} символов) — или пропустите.",
        "skip": "Пропустить",
        "bio_too_long": "Здесь {length} символов, а можно не больше {max}. Сократите, пожалуйста.",
        "ask_team_name": "Как называется ваша команда?",
        "team_name_invalid": "Название команды — от 1 до 100 символов. Попробуйте ещё раз.",
        "ask_team_description": (
            "Что делает команда и кто ей нужен? (до {max} символов, или пропустите)"
        ),
        "confirm_profile": "Так вас увидят другие:\n\n{card}\n\nВсё верно?",
        "confirm": "Подтвердить ✓",
        "start_over": "Заново",
        "registered": "Вы зарегистрированы и видны в поиске. /search — найти подходящих.",
        "cancelled": "Отменено. /start — начать заново.",
        "nothing_to_cancel": "Нечего отменять.",
        "menu": (
            "С возвращением, {name}!\n"
            "/search — найти подходящих\n/profile — ваш профиль\n/invitations — приглашения\n"
            "/team — ваша команда\n/language — язык"
        ),
        "stale_button": "Эта кнопка больше не действует.",
        "unknown_input": "Не понял. /help — что я умею.",
        "language_set": "Язык: русский.",
        "banned": "Ваш аккаунт заблокирован модераторами.",
        "card_skills": "Навыки",
        "card_wants": "Ищет",
        "card_team": "Команда",
        "no_value": "—",
        "cmd_search": "Найти подходящих",
        "cmd_profile": "Ваш профиль",
        "cmd_language": "Сменить язык",
        "cmd_cancel": "Выйти из текущего диалога",
        "why_they_have": "Есть то, что вы ищете: {tags}",
        "why_they_want": "Ищет то, что есть у вас: {tags}",
        "why_recent": "Недавно был активен и ищет.",
        "position": "{n} из {total}",
        "position_more": "{n} из {total}+",
        "action_invite": "Пригласить в команду",
        "action_request": "Попроситься в команду",
        "action_connect": "Познакомиться",
        "action_next": "Дальше ▶",
        "action_hide": "Скрыть",
        "action_report": "Пожаловаться",
        "search_empty": (
            "Сейчас подходящих нет. Добавьте в /profile, кого вы ищете, "
            "или загляните позже: люди приходят каждый день."
        ),
        "search_empty_filtered": "Сейчас нет никого с «{skill}». Попробуйте /search без навыка.",
        "register_first": "Сначала зарегистрируйтесь: /start.",
        "hidden": "Скрыто: больше не покажу.",
        "reported": "Спасибо, модераторы посмотрят.",
        "ask_note": "Добавьте короткую записку (до {max} символов) или отправьте без неё.",
        "send_without_note": "Отправить без записки",
        "invite_sent": "Отправлено. Я сообщу, когда ответят.",
        "invite_not_allowed": "Такое приглашение отправить нельзя.",
        "invite_gone": "Этот профиль больше недоступен.",
        "invite_quota": "Это уже {per_day} приглашений за сутки — предел. Попробуйте завтра.",
        "invite_already_pending": "Между вами уже есть ожидающее приглашение.",
        "action_cancel_invite": "Отменить приглашение",
        "action_accept": "Принять ✓",
        "action_decline": "Отклонить",
        "incoming_invite": "<b>{name}</b> приглашает вас в свою команду.",
        "incoming_request": "<b>{name}</b> просится в вашу команду.",
        "incoming_connect": "<b>{name}</b> хочет познакомиться как кофаундер.",
        "no_invitations": "Ожидающих приглашений нет.",
        "outgoing": "Вы пригласили <b>{name}</b>; ждём ответа.",
        "invitation_stale": "Это приглашение уже не ожидает ответа.",
        "accepted_you": "Принято. Связаться: {contact}.",
        "accepted_them": "<b>{name}</b> принял(а) приглашение! Связаться: {contact}.",
        "joined_team": "Теперь вы в команде <b>{team}</b>.",
        "declined_you": "Отклонено.",
        "declined_them": "<b>{name}</b> в этот раз отказался(лась). Ищите дальше: /search",
        "cancelled_you": "Приглашение отменено.",
        "expired_sender": "Ваше приглашение для <b>{name}</b> истекло без ответа.",
        "cmd_invitations": "Ожидающие приглашения",
        "action_resume": "Снова искать",
        "action_pause": "Приостановить поиск",
        "action_edit": "Изменить профиль",
        "action_delete": "Удалить аккаунт",
        "paused_inactive": (
            "Вас не было {days} дней, поэтому я приостановил ваш поиск: пока вы не вернётесь, "
            "вас никто не увидит."
        ),
        "searching_on": "🟢 Виден в поиске.",
        "searching_off": "⏸ Поиск приостановлен: другие вас не видят.",
        "resumed": "Снова ищем.",
        "paused": "Поиск приостановлен.",
        "delete_confirm": (
            "Удалить аккаунт? Вы сразу пропадёте из поиска, ожидающие приглашения "
            "отменятся, а данные сотрутся через {days} дней."
        ),
        "delete_yes": "Да, удалить",
        "delete_no": "Нет, оставить",
        "delete_kept": "Оставили. Ничего не изменилось.",
        "delete_confirm_team": "Ваша команда <b>{team}</b> будет удалена, участникам сообщим.",
        "edit_which": "Что изменить?",
        "edit_name": "Имя",
        "edit_skills": "Навыки",
        "edit_wants": "Кого ищу",
        "edit_bio": "О себе",
        "edit_all": "Всё (заново)",
        "edit_discard": "Не сохранять",
        "profile_updated": "Сохранено. /profile — ваша карточка.",
        # --- matcher
        "digest": "Вам подходят новые профили: {counts}. Посмотрите: /search",
        "digest_participant": "участники",
        "digest_cofounder": "кофаундеры",
        "digest_team": "команды",
        # --- admin
        "report_to_admin": (
            "⚠️ Пользователь {reporter} пожаловался на этот профиль "
            "(id <code>{reported}</code>):\n\n{card}"
        ),
        "action_ban": "Заблокировать",
        "stats": (
            "<b>Пользователи</b>: зарегистрировано {registered} (участники — {participant}, "
            "кофаундеры — {cofounder}, команды — {team}), ищут — {searching}, "
            "активны за неделю — {active_week}, заблокированы — {banned}, удалены — {deleted}\n"
            "<b>Команды</b>: {teams}, участников в них — {members}\n"
            "<b>Приглашения</b>: ожидают — {pending}; за 7 дней отправлено — {sent_week}, "
            "принято — {accepted_week}, отклонено — {declined_week}, истекло — {expired_week}\n"
            "<b>Жалобы</b> за 7 дней: {reports_week}"
        ),
        "ban_usage": "Как использовать: /ban &lt;id пользователя&gt;",
        "unban_usage": "Как использовать: /unban &lt;id пользователя&gt;",
        "admin_no_user": "Пользователя с id {id} нет.",
        "admin_cannot_ban_admin": "Администраторов блокировать нельзя.",
        "banned_done": (
            "Пользователь {id} заблокирован: скрыт из поиска, ожидающие приглашения отменены."
        ),
        "already_banned": "Пользователь {id} уже был заблокирован.",
        "unbanned_done": "Пользователь {id} разблокирован.",
        "not_banned": "Пользователь {id} не заблокирован.",
        "deleted": "Аккаунт удалён. /start — зарегистрироваться снова.",
        # --- teams
        "cmd_team": "Ваша команда",
        "team_none": (
            "Вы пока не в команде. Найдите её через /search или попросите у команды ссылку "
            "для вступления. Чтобы вести свою команду, зарегистрируйтесь как команда: "
            "/profile → Изменить профиль."
        ),
        "team_card_members": "Участники ({count})",
        "team_card_owner": "владелец",
        "team_card_link_on": "🔗 Ссылка для вступления действует.",
        "team_card_requests": "Заявки на вступление ждут ответа: {count}.",
        "team_request": "<b>{name}</b> просится в команду.",
        "action_team_name": "✏️ Название",
        "action_team_description": "✏️ Описание",
        "action_team_roles": "✏️ Кого ищем",
        "action_team_link": "🔗 Ссылка для вступления",
        "action_team_remove": "Исключить участника",
        "action_team_transfer": "Передать команду",
        "action_team_delete": "Удалить команду",
        "action_team_leave": "Выйти из команды",
        "action_team_revoke": "Отозвать ссылку",
        "action_team_yes": "Да",
        "action_team_no": "Нет",
        "team_ask_name": "Пришлите новое название команды (от 1 до {max} символов) или /cancel.",
        "team_ask_description": "Пришлите новое описание (до {max} символов) или /cancel.",
        "team_ask_roles": (
            "Кто нужен команде? Пришлите навыки через запятую (до {max}) или /cancel. "
            "По ним поиск подбирает команду."
        ),
        "team_roles_invalid": (
            "Пришлите от 1 до {max} навыков через запятую: буквы и цифры, до 32 символов каждый."
        ),
        "team_saved": "Сохранено.",
        "team_pick_remove": "Кого исключить из <b>{team}</b>?",
        "team_pick_transfer": "Кому передать <b>{team}</b>?",
        "team_no_others": "В команде пока больше никого нет.",
        "team_confirm_remove": "Исключить <b>{name}</b> из <b>{team}</b>?",
        "team_removed": "<b>{name}</b> больше не в <b>{team}</b>.",
        "team_removed_you": "Владелец исключил вас из команды <b>{team}</b>.",
        "team_confirm_transfer": (
            "Сделать <b>{name}</b> владельцем <b>{team}</b>? Его профиль станет карточкой "
            "команды в поиске, заявки будут приходить ему. Вы останетесь в команде участником, "
            "а ваш поиск приостановится, пока вы не обновите /profile."
        ),
        "team_transferred": (
            "Теперь <b>{team}</b> владеет <b>{name}</b>. Вы участник команды; ваш поиск "
            "приостановлен, пока вы не обновите /profile."
        ),
        "team_transferred_you": (
            "Теперь вы владелец <b>{team}</b>: ваш профиль — карточка команды в поиске, заявки "
            "приходят вам. /team — управление командой."
        ),
        "team_transferred_members": "<b>{name}</b> теперь владелец <b>{team}</b>.",
        "team_confirm_delete": (
            "Удалить <b>{team}</b> насовсем? Участники получат уведомление, ссылка и "
            "приглашения команды удалятся. Ваш аккаунт останется — как участник, с "
            "приостановленным поиском, пока вы не обновите /profile."
        ),
        "team_deleted": (
            "Команда <b>{team}</b> удалена. Теперь вы участник; поиск приостановлен, пока вы "
            "не обновите /profile."
        ),
        "team_deleted_members": "Владелец удалил команду <b>{team}</b>. Найдите другую: /search",
        "team_confirm_leave": "Выйти из <b>{team}</b>?",
        "team_left": "Вы вышли из <b>{team}</b>.",
        "team_left_owner": "<b>{name}</b> вышел(ла) из <b>{team}</b>.",
        "team_kept": "Оставили. Ничего не изменилось.",
        "team_link": (
            "По этой ссылке любой может попроситься в <b>{team}</b>:\n{link}\n"
            "Заявки приходят владельцу и видны в /team всем участникам."
        ),
        "team_link_revoked": "Ссылка отозвана и больше не работает.",
        "team_link_none": "Действующей ссылки нет.",
        "team_link_invalid": "Эта ссылка больше не работает. Попросите у команды новую.",
        "team_join_sent": "Заявка в <b>{team}</b> отправлена. Я сообщу, когда ответят.",
        "team_join_already": "Вы уже в команде <b>{team}</b>.",
        "team_join_register": (
            "Чтобы попроситься в <b>{team}</b>, сначала зарегистрируйтесь; заявку я отправлю "
            "сразу после этого."
        ),
        "team_request_accepted": (
            "<b>{name}</b> принял(а) вашу заявку: теперь вы в команде <b>{team}</b>. "
            "Связаться: {contact}."
        ),
        "team_request_accepted_by": "<b>{name}</b> теперь в команде. Связаться: {contact}.",
        "team_request_accepted_owner": "<b>{actor}</b> принял(а) <b>{name}</b> в <b>{team}</b>.",
        "team_request_declined": (
            "Вашу заявку в <b>{team}</b> в этот раз отклонили. Ищите дальше: /search"
        ),
        "team_request_declined_by": "Отклонено: <b>{name}</b> не вступит.",
        "team_request_in_team": "Этот человек уже в другой команде; заявка закрыта.",
        "team_gone": "Этой команды больше нет.",
        "team_not_member": "Вы не в этой команде.",
        "team_not_owner": "Это может только владелец команды.",
        "team_member_gone": "Этого человека уже нет в команде.",
        "team_self": "Это вы.",
        "team_owner_cannot_leave": "Владелец не может выйти: передайте команду или удалите её.",
    },
}


def language_from_code(language_code: str | None) -> str:
    """Telegram's language_code ('ru', 'ru-RU', 'en-GB', None) to one of ours."""
    if language_code and language_code.lower().split("-")[0] == "ru":
        return "ru"
    return "en"


def text(language: str, key: str, **values: object) -> str:
    catalog = _CATALOG.get(language, _CATALOG["en"])
    return catalog[key].format(**values) if values else catalog[key]

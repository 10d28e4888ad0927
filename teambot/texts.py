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
            "/start — register or open the menu\n"
            "/search — browse people and teams that match you\n"
            "/help — this message"
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
    },
    "ru": {
        "start": (
            "Привет, {name}! Я бот Launch Lab для поиска команды.\n"
            "Помогаю участникам, кофаундерам и командам найти друг друга. Подробнее: /help."
        ),
        "help": (
            "/start — регистрация или меню\n"
            "/search — люди и команды, которые вам подходят\n"
            "/help — эта справка"
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

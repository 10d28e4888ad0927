# teambot: Russian texts (Project Fluent, https://projectfluent.org).
# Values are Telegram HTML: plain text must not contain <, > or & unescaped.
start =
    Привет, { $name }! Я бот Launch Lab для поиска команды.
    Помогаю участникам, кофаундерам и командам найти друг друга. Подробнее: /help.
help =
    /start — регистрация или меню; /search — люди и команды, которые вам подходят
    /invitations — ответить на приглашения или отменить их; /saved — сохранённые; /team — ваша команда
    /profile — изменить или приостановить профиль; /language; /cancel — выйти из диалога
throttled = Слишком часто: попробуйте снова через { $seconds } с.
failed = Извините, у меня что-то пошло не так. Попробуйте ещё раз.
cmd_start = Регистрация или меню
cmd_help = Как работает бот
choose_language = Выберите язык:
choose_role =
    Кто вы здесь?
    • <b>Участник</b>: хотите присоединиться к команде
    • <b>Кофаундер</b>: ищете сооснователя, чтобы начать своё дело
    • <b>Команда</b>: ищете людей
role_participant = Участник
role_cofounder = Кофаундер
role_team = Команда
ask_name = Как другим вас называть? Напишите имя или оставьте имя из Telegram.
keep_name = Оставить «{ $name }»
name_invalid = Имя — от 1 до 64 символов. Попробуйте ещё раз.
ask_skills =
    Что вы умеете? Нажмите на навыки ниже или напишите свои через запятую (до { $max }).
    Выбрано: { $chosen }
ask_wants =
    Кого или какие навыки вы ищете? Нажмите или напишите, затем «Готово».
    Выбрано: { $chosen }
nothing_chosen = пока ничего
done = Готово ✓
skills_full = Уже { $max }: уберите один навык, чтобы добавить другой.
skills_refused = Это не навык: { $text }. Буквы и цифры, до 32 символов.
ask_bio = Пара слов о себе (до { $max } символов) — или пропустите.
skip = Пропустить
bio_too_long = Здесь { $length } { $length ->
    [one] символ
    [few] символа
   *[many] символов
}, а можно не больше { $max }. Сократите, пожалуйста.
ask_team_name = Как называется ваша команда?
team_name_invalid = Название команды — от 1 до 100 символов. Попробуйте ещё раз.
ask_team_description = Что делает команда и кто ей нужен? (до { $max } символов, или пропустите)
confirm_profile =
    Так вас увидят другие:

    { $card }

    Всё верно?
confirm = Подтвердить ✓
start_over = Заново
registered = Вы зарегистрированы и видны в поиске. /search — найти подходящих.
cancelled = Отменено. /start — начать заново.
nothing_to_cancel = Нечего отменять.
menu =
    С возвращением, { $name }!
    /search — найти подходящих
    /profile — ваш профиль
    /invitations — приглашения
    /team — ваша команда
    /language — язык
stale_button = Эта кнопка больше не действует.
unknown_input = Не могу разобрать сообщение. /help — что я умею.
language_set = Язык: русский.
banned = Ваш аккаунт заблокирован модераторами.
card_skills = Навыки
card_wants = Ищет
card_team = Команда
cmd_search = Найти подходящих
cmd_profile = Ваш профиль
cmd_language = Сменить язык
cmd_cancel = Выйти из текущего диалога
why_they_have = Есть то, что вы ищете: { $tags }
why_they_want = Ищет то, что есть у вас: { $tags }
why_recent = Недавно заходили и в поиске.
position = { $n } из { $total }
position_more = { $n } из { $total }+
action_invite = Пригласить в команду
action_request = Попроситься в команду
action_connect = Познакомиться
action_next = Дальше ▶
action_hide = Скрыть
action_report = Пожаловаться
search_empty = Сейчас подходящих вам людей в поиске нет.
search_empty_filtered = Сейчас в поиске нет никого с «{ $skill }». /search без навыка покажет всех, кто вам подходит.
register_first = Сначала зарегистрируйтесь: /start.
hidden = Скрыто: больше не покажу.
reported = Спасибо, модераторы посмотрят.
ask_note = Добавьте короткую записку (до { $max } символов) или отправьте без неё.
send_without_note = Отправить без записки
invite_sent = Приглашение отправлено: <b>{ $name }</b>. Я сообщу, когда будет ответ.
invite_not_allowed = Такое приглашение отправить нельзя.
invite_gone = Этот профиль больше недоступен.
invite_quota = { $per_day ->
    [one] Это уже { $per_day } приглашение за сутки — предел. Попробуйте завтра.
    [few] Это уже { $per_day } приглашения за сутки — предел. Попробуйте завтра.
   *[many] Это уже { $per_day } приглашений за сутки — предел. Попробуйте завтра.
}
invite_already_pending = Между вами уже есть ожидающее приглашение.
invite_theirs_pending = Этот человек уже обратился к вам первым: ответьте ему в /invitations.
action_cancel_invite = Отменить приглашение
action_accept = Принять ✓
action_decline = Отклонить
incoming_invite = <b>{ $name }</b> приглашает вас в команду <b>{ $team }</b>.
incoming_request = <b>{ $name }</b> просится в вашу команду <b>{ $team }</b>.
incoming_connect = <b>{ $name }</b> предлагает познакомиться: вы оба ищете кофаундера.
no_invitations = Ожидающих приглашений нет.
outgoing = Вы пригласили <b>{ $name }</b> в <b>{ $team }</b>; ждём ответа.
invitation_stale = Это приглашение уже не ожидает ответа.
expired_sender = Ваше приглашение для <b>{ $name }</b> истекло без ответа.
cmd_invitations = Ожидающие приглашения
action_resume = Снова искать
action_pause = Приостановить поиск
action_edit = Изменить профиль
action_delete = Удалить аккаунт
paused_inactive =
    Вас не было { $days } { $days ->
        [one] день
        [few] дня
       *[many] дней
    }, поэтому ваш поиск приостановлен: пока вы не вернётесь, вас никто не увидит.
searching_on = 🟢 Вас видно в поиске.
searching_off = ⏸ Поиск приостановлен: другие вас не видят.
resumed = Снова ищем.
paused = Поиск приостановлен.
delete_confirm =
    Удалить аккаунт? Вы сразу пропадёте из поиска, ожидающие приглашения отменятся, а данные сотрутся через { $days } { $days ->
        [one] день.
        [few] дня.
       *[many] дней.
    }
delete_yes = Да, удалить
delete_no = Нет, оставить
delete_kept = Оставили. Ничего не изменилось.
delete_confirm_team = Ваша команда <b>{ $team }</b> будет удалена, участникам сообщим.
edit_which = Что изменить?
edit_name = Имя
edit_skills = Навыки
edit_wants = Кого ищу
edit_bio = О себе
edit_all = Всё (заново)
edit_discard = Не сохранять
profile_updated = Сохранено. /profile — ваша карточка.
digest = Вам подходят новые профили: { $counts }. Посмотрите: /search
digest_participants = { $count } { $count ->
    [one] участник
    [few] участника
   *[many] участников
}
digest_cofounders = { $count } { $count ->
    [one] кофаундер
    [few] кофаундера
   *[many] кофаундеров
}
digest_teams = { $count } { $count ->
    [one] команда
    [few] команды
   *[many] команд
}
report_to_admin =
    ⚠️ Пользователь { $reporter } пожаловался на этот профиль (id <code>{ $reported }</code>):

    { $card }
action_ban = Заблокировать
stats =
    <b>Пользователи</b>: зарегистрировано { $registered } (участники — { $participant }, кофаундеры — { $cofounder }, команды — { $team }), ищут — { $searching }, активны за неделю — { $active_week }, заблокированы — { $banned }, удалены — { $deleted }
    <b>Команды</b>: { $teams }, участников в них — { $members }
    <b>Приглашения</b>: ожидают — { $pending }; за 7 дней отправлено — { $sent_week }, принято — { $accepted_week }, отклонено — { $declined_week }, истекло — { $expired_week }
    <b>Жалобы</b> за 7 дней: { $reports_week }
ban_usage = Как использовать: /ban &lt;id пользователя&gt;
unban_usage = Как использовать: /unban &lt;id пользователя&gt;
admin_no_user = Пользователя с id { $id } нет.
admin_cannot_ban_admin = Администраторов блокировать нельзя.
banned_done = Пользователь { $id } заблокирован: скрыт из поиска, ожидающие приглашения отменены.
already_banned = Пользователь { $id } уже был заблокирован.
unbanned_done = Пользователь { $id } разблокирован.
not_banned = Пользователь { $id } не заблокирован.
deleted = Аккаунт удалён. /start — зарегистрироваться снова.
cmd_team = Ваша команда
team_none = Вы пока не в команде. Найдите её через /search или попросите у команды ссылку для вступления. Чтобы вести свою команду, зарегистрируйтесь как команда: /profile → Изменить профиль.
team_card_members = { $count } { $count ->
    [one] участник
    [few] участника
   *[many] участников
}
team_card_owner = владелец
team_card_link_on = 🔗 Ссылка для вступления действует.
team_card_requests = { $count ->
    [one] { $count } заявка на вступление ждёт ответа.
    [few] { $count } заявки на вступление ждут ответа.
   *[many] { $count } заявок на вступление ждут ответа.
}
team_request = <b>{ $name }</b> просится в команду.
action_team_name = ✏️ Название
action_team_description = ✏️ Описание
action_team_roles = ✏️ Кого ищем
action_team_link = 🔗 Ссылка для вступления
action_team_remove = Исключить участника
action_team_transfer = Передать команду
action_team_delete = Удалить команду
action_team_leave = Выйти из команды
action_team_revoke = Отозвать ссылку
action_team_yes = Да
action_team_no = Нет
team_ask_name = Пришлите новое название команды (от 1 до { $max } символов) или /cancel.
team_ask_description = Пришлите новое описание (до { $max } символов) или /cancel.
team_ask_roles = Кто нужен команде? Пришлите навыки через запятую (до { $max }) или /cancel. По ним поиск подбирает команду.
team_roles_invalid = Пришлите от 1 до { $max } навыков через запятую: буквы и цифры, до 32 символов каждый.
team_saved = Сохранено.
team_pick_remove = Кого исключить из <b>{ $team }</b>?
team_pick_transfer = Кому передать <b>{ $team }</b>?
team_no_others = В команде пока больше никого нет.
team_confirm_remove = Исключить <b>{ $name }</b> из <b>{ $team }</b>?
team_removed = <b>{ $name }</b> больше не в <b>{ $team }</b>.
team_removed_you = Владелец исключил вас из команды <b>{ $team }</b>.
team_confirm_transfer =
    Сделать <b>{ $name }</b> владельцем <b>{ $team }</b>? Профиль <b>{ $name }</b> станет карточкой команды в поиске, заявки будут приходить туда. Вы останетесь в команде участником, а ваш поиск приостановится, пока вы не обновите /profile.
team_transferred =
    Теперь владелец <b>{ $team }</b> — <b>{ $name }</b>. Вы участник команды; ваш поиск приостановлен, пока вы не обновите /profile.
team_transferred_you = Теперь вы владелец <b>{ $team }</b>: ваш профиль — карточка команды в поиске, заявки приходят вам. /team — управление командой.
team_transferred_members = <b>{ $name }</b> теперь владелец <b>{ $team }</b>.
team_confirm_delete = Удалить <b>{ $team }</b> насовсем? Участники получат уведомление, ссылка и приглашения команды удалятся. Ваш аккаунт останется — как участник, с приостановленным поиском, пока вы не обновите /profile.
team_deleted = Команда <b>{ $team }</b> удалена. Теперь вы участник; поиск приостановлен, пока вы не обновите /profile.
team_deleted_members = Владелец удалил команду <b>{ $team }</b>. Найдите другую: /search
team_confirm_leave = Выйти из <b>{ $team }</b>?
team_left = Вы вышли из <b>{ $team }</b>.
team_left_owner = <b>{ $name }</b> больше не в команде <b>{ $team }</b>.
team_kept = Оставили. Ничего не изменилось.
team_link =
    По этой ссылке любой может попроситься в <b>{ $team }</b>:
    { $link }
    Заявки приходят владельцу и видны в /team всем участникам.
team_link_revoked = Ссылка отозвана и больше не работает.
team_link_none = Действующей ссылки нет.
team_link_invalid = Эта ссылка больше не работает. Попросите у команды новую.
team_join_sent = Заявка в <b>{ $team }</b> отправлена. Я сообщу, когда ответят.
team_join_already = Вы уже в команде <b>{ $team }</b>.
team_join_register = Чтобы попроситься в <b>{ $team }</b>, сначала зарегистрируйтесь; заявку я отправлю сразу после этого.
team_request_accepted =
    Заявку приняли: теперь вы в команде <b>{ $team }</b>. Связаться с <b>{ $name }</b>: { $contact }.
team_request_accepted_by = <b>{ $name }</b> теперь в команде. Связаться: { $contact }.
team_request_accepted_owner =
    <b>{ $name }</b> теперь в <b>{ $team }</b>. Заявку принял участник команды <b>{ $actor }</b>.
team_request_declined = Вашу заявку в <b>{ $team }</b> в этот раз отклонили. Ищите дальше: /search
team_request_declined_by = Отклонено: <b>{ $name }</b> не вступит.
team_request_in_team = Этот человек уже в другой команде; заявка закрыта.
team_gone = Вы не в этой команде, или её больше нет.
team_not_owner = Это может только владелец команды.
team_member_gone = Этого человека уже нет в команде.
team_self = Это вы.
team_owner_cannot_leave = Владелец не может выйти: передайте команду или удалите её.


## Search (cards, notes, empty answers)
# почему поиск пуст и что делать: добавляется после search_empty, search_empty_filtered или
# search_empty_left_out. $hint: wait (получает ежедневную сводку), add_wants (не указал,
# кого ищет: сводки нет), paused (свой поиск приостановлен: сводки нет)
search_hint = { $hint ->
    [paused] Ваш поиск приостановлен, поэтому о новых людях я не сообщаю: /profile → Снова искать.
    [add_wants] Добавьте в /profile, кого вы ищете (Изменить профиль → Кого ищу): когда появится кто-то подходящий, я сообщу.
   *[wait] Люди приходят каждый день: когда появится кто-то с тем, что вы ищете, я сообщу (не чаще раза в день).
}
# все подходящие скрыты или с ними уже есть ожидающее приглашение (сколько)
search_empty_left_out = { $pending ->
    [0] { $hidden ->
        [1] Сейчас вам подходит только тот, кого вы скрыли.
       *[other] Сейчас вам подходят только те, кого вы скрыли ({ $hidden }).
    }
   *[other] { $hidden ->
        [0] { $pending ->
            [1] Сейчас вам подходит только тот, с кем у вас уже есть ожидающее приглашение: см. /invitations.
           *[other] Сейчас вам подходят только те, с кем у вас уже есть ожидающие приглашения ({ $pending }): см. /invitations.
        }
       *[other] Сейчас вам подходят только те, кого вы скрыли ({ $hidden }), и те, с кем у вас уже есть ожидающие приглашения ({ $pending }, см. /invitations).
    }
}
# короткий ответ на «Дальше» на последней карточке (не длиннее 200 символов)
search_end = { $hint ->
    [paused] Пока это все. Ваш поиск приостановлен, поэтому о новых людях я не сообщаю: /profile → Снова искать.
    [add_wants] Пока это все. Добавьте в /profile, кого вы ищете, и я сообщу о новых подходящих; /search покажет всех сначала.
   *[wait] Пока это все. Когда появится кто-то новый и подходящий, я сообщу; /search покажет всех сначала.
}
card_teammate = Вы уже в одной команде.
note_stale = Ничего не отправлено: этот вопрос уже закрыт. Чтобы начать заново, нажмите кнопку на карточке.


## Invitations, join requests and teams

connect_sent = Предложение познакомиться отправлено: <b>{ $name }</b>. Я сообщу, когда будет ответ.
outgoing_request = Заявка в <b>{ $team }</b> ждёт ответа.
outgoing_connect = Предложение познакомиться ждёт ответа: <b>{ $name }</b>.
action_withdraw_request = Отозвать заявку
action_withdraw_connect = Отозвать предложение
unreachable = ⚠️ <b>{ $name }</b> сейчас не получает моих сообщений (чат со мной закрыт), поэтому может увидеть это не скоро.
invite_accepted_you = Теперь вы в команде <b>{ $team }</b>. Связаться с <b>{ $name }</b>: { $contact }.
invite_accepted_them = Приглашение принято: <b>{ $name }</b> теперь в команде <b>{ $team }</b>. Связаться: { $contact }.
invite_declined_you = Вы отклонили приглашение в <b>{ $team }</b>.
invite_declined_them = <b>{ $name }</b> в этот раз отвечает отказом на приглашение в <b>{ $team }</b>. Ищите дальше: /search
invite_cancelled = Приглашение отменено: <b>{ $name }</b>.
invite_in_team = Вы уже в команде <b>{ $team }</b>. Чтобы принять это приглашение, сначала выйдите из неё (/team); приглашение подождёт, пока не истечёт.
request_cancelled = Заявка в <b>{ $team }</b> отозвана.
request_expired = Заявка в <b>{ $team }</b> истекла без ответа. Ищите дальше: /search
connect_accepted_you = Знакомство состоялось. Связаться с <b>{ $name }</b>: { $contact }.
connect_accepted_them = Предложение познакомиться принято! Связаться с <b>{ $name }</b>: { $contact }.
connect_declined_you = Вы отклонили предложение познакомиться.
connect_declined_them = <b>{ $name }</b> в этот раз отвечает отказом на предложение познакомиться. Ищите дальше: /search
connect_cancelled = Предложение познакомиться отозвано: <b>{ $name }</b>.
connect_expired = Предложение познакомиться истекло без ответа: <b>{ $name }</b>.
closed_accepted = ✓ Принято
closed_accepted_by = ✓ Принято участником команды <b>{ $name }</b>
closed_declined = ✗ Отклонено
closed_declined_by = ✗ Отклонено участником команды <b>{ $name }</b>
closed_cancelled = Отменено
closed_expired = ⌛ Истекло без ответа


## Registration input, profile and group chats
tags_not_tags = Не добавлено: { $tags } — навык пишется буквами и цифрами.
tags_too_long = Не добавлено: { $tags } — навык не длиннее { $max } { $max ->
    [one] символа
   *[other] символов
}.
tags_repeated = Уже в списке: { $tags }.
tags_over_limit = Не добавлено: { $tags } — в списке не больше { $max } { $max ->
    [one] навыка
   *[other] навыков
}. Уберите один, чтобы добавить другой.
tags_and_more = { $tags } и ещё { $more }
tags_text_too_long = Для списка навыков это слишком длинно. Пришлите до { $max } { $max ->
    [one] короткого навыка
   *[other] коротких навыков
} через запятую.
too_long_continued = Это продолжение того же длинного текста (Telegram отправил его по частям): всего { $length } { $length ->
    [one] символ
    [few] символа
   *[many] символов
}, а можно не больше { $max }. Ничего не сохранено — пришлите текст короче.
edit_back = ← Назад
private_only = Я работаю только в личных сообщениях, чтобы профили и приглашения видели лишь те, кого они касаются. Нажмите кнопку ниже, чтобы написать мне.
private_only_open = Открыть личный чат
private_only_button = Это работает только в личном чате со мной.


## Throttle, failures and stale buttons


## Dashboard
dashboard_link = Ссылка на панель: { $url }
    Она действует один раз и 10 минут, в том браузере, где её открыли. Новая ссылка — снова /dashboard.
dashboard_not_configured = Панель не настроена: оператор задаёт DASHBOARD_SECRET (и PUBLIC_URL — адрес, по которому админы открывают веб-страницу бота) в настройках бота.
dashboard_open_app = Открыть в Telegram

# веб-страница панели (простой текст: страница его экранирует); $name — название события,
# $starts / $ends — его даты, как их пишет страница
dashboard_page_everyone = Панель: все участники
dashboard_page_event = Панель: { $name }
dashboard_page_language = Язык:
dashboard_page_nav_everyone = Все
dashboard_page_nav_ended = { $name } (завершено)
dashboard_page_event_running = { $name }: { $starts } – { $ends }, идёт. Цифры — по участникам события.
dashboard_page_event_ended = { $name }: { $starts } – { $ends }, завершено. Цифры — по участникам события.
dashboard_page_download = Скачать:
dashboard_page_teams_csv = команды и участники (CSV)
dashboard_page_looking_csv = кто ещё ищет (CSV)
dashboard_page_funnel = Воронка
dashboard_page_registrations = Регистрации по дням (UTC)
dashboard_page_requests = Заявки по дням (UTC): отправлены, приняты, отклонены, истекли
dashboard_page_join_delays = Сколько прошло от регистрации до вступления в команду
dashboard_page_team_sizes = Команды по размеру (участников)
dashboard_page_skills = Навыки: есть и нужны у тех, кто ещё ищет
dashboard_page_looking = Ещё без команды и активны: { $count }
dashboard_stage_started = Запустили бота
dashboard_stage_registered = Зарегистрировались
dashboard_stage_searched = Искали
dashboard_stage_requested = Отправили заявку
dashboard_stage_accepted = Заявка принята (отправленная или полученная)
dashboard_stage_in_team = В команде
dashboard_column_stage = этап
dashboard_column_people = человек
dashboard_column_share = от запустивших
dashboard_column_name = имя
dashboard_column_username = username
dashboard_column_type = тип
dashboard_column_skills = навыки
dashboard_column_looking_for = ищет
dashboard_column_links = ссылки
dashboard_type_participant = участник
dashboard_type_cofounder = кофаундер
dashboard_type_team = команда
dashboard_series_registered = зарегистрировались
dashboard_series_sent = отправлены
dashboard_series_accepted = приняты
dashboard_series_declined = отклонены
dashboard_series_expired = истекли
dashboard_series_people = человек
dashboard_series_teams = команд
dashboard_series_offered = есть
dashboard_series_sought = нужны
dashboard_delay_hour = меньше часа
dashboard_delay_day = 1–24 ч
dashboard_delay_days = 1–3 дня
dashboard_delay_week = 3–7 дней
dashboard_delay_weeks = 1–2 недели
dashboard_delay_more = больше 2 недель
dashboard_page_short_supply = Не хватает: { $skills }.
dashboard_page_no_shortage = Всего хватает.
dashboard_page_nothing_yet = Пока ничего.
dashboard_page_nobody = Никого.
dashboard_page_more = Показаны { $shown } недавно активных; в CSV — все { $total }.
dashboard_page_sign_in = Вход
dashboard_page_refused = Ссылка не принята
dashboard_page_ask_the_bot = Чтобы получить новую ссылку, отправьте боту /dashboard (только для админов).
dashboard_page_forged = Эта ссылка или сессия недействительна.
dashboard_page_expired = Срок действия ссылки или сессии истёк.
dashboard_page_used = По этой ссылке уже входили: каждая ссылка пускает один раз.
dashboard_page_not_admin = Этот аккаунт больше не админ бота.
dashboard_page_open = Открыть панель
dashboard_page_once = Ссылка действует один раз и 10 минут.
dashboard_page_app = Откройте панель кнопкой бота в Telegram.
dashboard_page_no_event = Такого события нет.
dashboard_page_back = Назад ко всем
dashboard_page_not_found = Такой страницы нет.
dashboard_page_not_found_title = Не найдено
dashboard_page_try_again = Попробуйте чуть позже
dashboard_page_no_database = База данных сейчас недоступна.
dashboard_page_not_configured_title = Не настроено
dashboard_page_not_configured = Панель не настроена: задайте DASHBOARD_SECRET в настройках бота.

## Ranking

# причины на карточке /search (не больше трёх, сильнейшая первой); $band: h_under_10, h_10_20,
# h_20_40, h_full_time; $role: technical, product, design, business, science; $stage: exploring,
# idea, prototype, users, revenue
rank_band = { $band ->
    [h_under_10] до 10 ч в неделю
    [h_10_20] 10–20 ч в неделю
    [h_20_40] 20–40 ч в неделю
   *[h_full_time] полный день
}
rank_role = { $role ->
    [technical] техническая
    [product] продукт
    [design] дизайн
    [business] бизнес и продажи
   *[science] наука
}
reason_both_hours = У обоих { $band }
reason_hours = Занятость: { $band }, близко к вашей
reason_time_zone = { $hours ->
    [0] Тот же часовой пояс
   *[other] Часовые пояса ±{ $hours } ч
}
reason_both_remote = Оба работают удалённо
reason_same_city = Оба готовы работать очно в городе { $city }
reason_role = Роль: { $role }, как вы ищете
reason_needs_you = { $role ->
    [technical] Нужен технический специалист
    [product] Нужен продакт
    [design] Нужен дизайнер
    [business] Нужен специалист по бизнесу
   *[science] Нужен учёный
}: это вы
reason_stage = Стадия: { $stage ->
    [exploring] пока присматриваются
    [idea] идея
    [prototype] прототип
    [users] есть пользователи
   *[revenue] есть выручка
}
reason_language = Говорит: { $languages }, как и вы
# быстрые фильтры под карточкой /search: $role / $band "any", когда не заданы
rank_filter_role = Роль: { $role ->
    [any] любая
    [technical] техническая
    [product] продукт
    [design] дизайн
    [business] бизнес
   *[science] наука
}
rank_filter_hours = { $band ->
    [any] Занятость: любая
    [h_under_10] До 10 ч
    [h_10_20] 10–20 ч
    [h_20_40] 20–40 ч
   *[h_full_time] Полный день
}
rank_filter_remote = { $on ->
    [yes] ✓ Удалённо
   *[no] Удалённо: неважно
}
rank_scope_event = Только { $event }
rank_scope_everyone = Все
rank_in_event = Среди участников события «{ $event }».
# пустой ответ, когда больше всего людей отсекает обязательное условие самого ищущего
rank_blocker = Больше всего людей отсекает ваше обязательное условие «{ $criterion ->
    [commitment] занятость
    [time_zone] часовой пояс
    [work_mode] удалённо или очно
    [role] роль
    [stage] стадия
   *[language] язык
}».
rank_relax = Искать один раз без него
rank_relaxed = Ищем один раз без вашего обязательного условия «{ $criterion ->
    [commitment] занятость
    [time_zone] часовой пояс
    [work_mode] удалённо или очно
    [role] роль
    [stage] стадия
   *[language] язык
}».

## Events
cmd_events = Ваши события
event_ask_name = Новое событие. Как оно называется? (до { $max } символов; /cancel — отменить)
event_name_invalid = Название события — от 1 до { $max } символов. Пришлите его ещё раз.
event_ask_starts = Когда оно начинается? Нажмите кнопку или пришлите дату: 10.12.2026 или 2026-12-10.
event_today = Сегодня
event_tomorrow = Завтра
event_date_invalid = Не получилось прочитать дату. Пришлите её так: 10.12.2026 или 2026-12-10.
event_ask_ends = Начало — { $starts }. Когда событие заканчивается?
event_same_day = В тот же день
event_week_later = Через неделю
event_ends_before_start = Событие не может закончиться раньше, чем начнётся ({ $starts }). Пришлите другую дату окончания.
event_ends_in_past = Этот день уже прошёл. Пришлите дату окончания не раньше сегодняшней.
event_ask_size = Сколько человек может быть в команде? Нажмите число, пришлите своё от 2 до { $max } или нажмите «Без ограничения».
event_no_limit = Без ограничения
event_size_invalid = Пришлите число от 2 до { $max } или нажмите «Без ограничения».
event_size_none = размер команд не ограничен
event_size_limit = команды до { $size } { $size ->
    [one] человека
   *[other] человек
}
event_created = Событие <b>{ $event }</b> создано: { $dates }, { $size }.
    Поделитесь ссылкой — кто её откроет, попадёт в событие (новички сначала зарегистрируются):
    { $link }
event_card_people = { $count } { $count ->
    [one] участник
    [few] участника
   *[many] участников
}
event_card_ended = завершено
action_event_fill = Предложить команды всем оставшимся
action_event_end = Завершить событие
event_none_yet = Событий пока нет. Создать: /event new
event_mine_none = Вы пока не участвуете ни в одном событии. Организаторы присылают ссылку, по которой можно присоединиться.
event_mine = Ваши события:
    { $events }
event_already_ended = Это событие уже завершено.
event_ended_done = Событие «{ $event }» завершено.
event_ended_short = Это событие завершено.
event_fill_nobody = Некого объединять: у всех в событии уже есть команда, они ждут ответа на предложение или им пока некого предложить.
event_link_unknown = Эта ссылка на событие никуда не ведёт. Уточните её у организаторов.
event_link_ended = Событие <b>{ $event }</b> завершено, новых участников оно не принимает. Спасибо за интерес!
event_already_in = Вы уже участвуете в событии <b>{ $event }</b>. /search покажет его участников.
event_already_in_short = Вы уже участвуете в этом событии.
event_invite = <b>{ $event }</b> · { $dates }
    Присоединяйтесь, чтобы найти команду среди участников.
action_event_join = Присоединиться: { $event }
event_joined = Вы участвуете в событии <b>{ $event }</b>. /search покажет его участников.
event_register = Добро пожаловать! Чтобы присоединиться к событию <b>{ $event }</b>, сначала расскажите немного о себе — это займёт минуту.
event_proposal = <b>{ $event }</b>: организаторы предлагают команду из { $count } { $count ->
    [one] человека
   *[other] человек
} (группа { $number }):
    { $members }
    Никто не попадёт в команду, пока все в группе не согласятся.
event_proposal_waiting = ✓ Вы согласились. Ждём ответа остальных.
event_proposal_formed_line = ✓ Все согласились: команда собрана.
event_proposal_declined_you = ✗ Вы отказались. Вы остаётесь в событии и можете искать дальше: /search
event_proposal_failed_line = ✗ Эта команда не собралась.
event_proposal_answered = Вы уже ответили.
event_proposal_closed = Это предложение уже закрыто.
event_proposal_expired = Срок этого предложения истёк: ответили не все.
event_team_formed = Все согласились — теперь вы команда <b>{ $team }</b> (<b>{ $event }</b>). Познакомьтесь:
    { $members }
    /team покажет команду.
event_proposal_declined = Команда, предложенная в событии <b>{ $event }</b> (группа { $number }), не собралась: кто-то отказался. Вы остаётесь в событии; /search — искать дальше.
event_proposal_unavailable = Команду, предложенную в событии <b>{ $event }</b> (группа { $number }), не удалось собрать: кто-то из группы тем временем вступил в другую команду. Вы остаётесь в событии; /search — искать дальше.
event_fill_report = Автоподбор для события <b>{ $event }</b>: { $groups } { $groups ->
    [one] группа
    [few] группы
   *[many] групп
}, в них { $people } { $people ->
    [one] человек
    [few] человека
   *[many] человек
}.
    Согласились: { $accepted } · отказались: { $declined } · ещё думают: { $waiting }
    Команд собрано: { $formed } · не собрано: { $failed }
    Без группы на этот раз: { $unplaced }
## Broadcast
broadcast_ask = Напишите объявление одним сообщением, до { $max } { $max ->
    [one] символа
   *[other] символов
}. Перед отправкой я покажу его в точности таким, каким его получат люди, и сколько человек его получит. /cancel — отменить.
broadcast_text_only = Объявление — это текстовое сообщение. Пожалуйста, напишите его текстом.
broadcast_too_long = Здесь { $length } { $length ->
    [one] символ
    [few] символа
   *[many] символов
}, а в объявлении можно не больше { $max }. Пожалуйста, сократите его.
broadcast_choose = Кому отправить? Числа — сколько человек получат объявление сейчас.
broadcast_everyone = Все зарегистрированные ({ $count })
broadcast_teamless = Те, у кого нет команды ({ $count })
broadcast_event = { $name } ({ $count })
broadcast_cancel = Отмена
broadcast_audience = { $kind ->
    [teamless] те, у кого нет команды
    [event] участники события «{ $name }»
   *[everyone] все зарегистрированные
}
broadcast_chosen = Получатели: { $audience }.
broadcast_confirm = Выше — объявление в том виде, в каком его получат люди (последняя строка — на языке каждого получателя). Получатели: { $audience }, всего { $count }. Те, кто отключил объявления, заблокирован или заблокировал бота, не учитываются.
broadcast_send = Отправить ({ $count })
broadcast_nobody = Здесь сейчас никто не получает объявления. Выберите других получателей.
broadcast_nobody_now = Ничего не отправлено: в этой группе больше никто не получает объявления.
broadcast_dropped = Объявление не отправлено.
broadcast_started = Рассылка началась.
broadcast_progress = 📣 Объявление для { $total } { $total ->
        [one] человека
       *[other] человек
    }
    Доставлено: { $delivered } · не доставлено: { $undelivered } · пропущено: { $skipped } · осталось: { $remaining }
broadcast_stop = ⏹ Остановить рассылку
broadcast_stopping = Останавливаю. Сообщения, которые уже в пути, всё равно дойдут.
broadcast_finished_already = Эта рассылка уже закончилась.
broadcast_done = ✓ Готово. Не доставлено тем, кто заблокировал бота. Пропущены те, кто отключил объявления или удалил профиль до своей очереди.
broadcast_stopped = ⏹ Остановлено. Остальные это объявление не получат.
broadcast_footer = Объявление от организаторов. Чтобы больше их не получать: /profile → «Отключить объявления».
announcements_on = 🔔 Объявления от организаторов: включены.
announcements_off = 🔕 Объявления от организаторов: отключены.
action_announcements_off = Отключить объявления
action_announcements_on = Включить объявления
announcements_turned_off = Объявления больше не будут приходить.
announcements_turned_on = Объявления снова будут приходить.

## Profile fields
pf_hours_value = { $value ->
    [under_10] меньше 10 ч в неделю
    [ten_to_20] 10–20 ч в неделю
    [twenty_to_40] 20–40 ч в неделю
   *[full_time] полный день
}
pf_from_value = { $value ->
    [now] уже сейчас
    [month] в течение месяца
   *[later] позже
}
pf_mode_value = { $value ->
    [remote] удалённо
    [on_site] на месте
   *[either] удалённо или на месте
}
pf_role_value = { $value ->
    [technical] разработка
    [product] продукт
    [design] дизайн
    [business] бизнес и продажи
   *[science] наука
}
pf_stage_value = { $value ->
    [exploring] пока присматриваемся
    [idea] идея
    [prototype] прототип
    [users] есть пользователи
   *[revenue] есть выручка
}
pf_card_commitment = Время
pf_card_time_zone = Часовой пояс
pf_card_work_mode = Формат
pf_card_focus = Направление
pf_card_needs = Нужны
pf_card_size = Команда до { $size } человек
pf_card_stage = Стадия
pf_card_languages = Языки
pf_card_links = Ссылки
pf_ask_hours = Сколько времени в неделю вы готовы уделять? (Любой из этих вопросов можно пропустить.)
pf_ask_from = С какого времени?
pf_ask_time_zone =
    Ваш часовой пояс: нажмите смещение от UTC или напишите город (например, <i>Москва</i>) или смещение (<i>UTC+5:30</i>).
pf_ask_work_mode = Удалённо или на месте?
pf_ask_city = В каком городе? (до { $max } символов)
pf_ask_focus = Чем вы занимаетесь в первую очередь?
pf_ask_needs = Кто ещё нужен команде? Отметьте всех, потом «Готово».
pf_ask_size = Сколько человек должно быть в команде, самое большее?
pf_ask_stage = На какой стадии проект?
pf_ask_languages = На каких языках вы говорите? Отметьте все, потом «Готово».
pf_ask_links =
    Ссылки, которые другие смогут открыть с вашей карточки: GitHub, LinkedIn, портфолио (до { $max }). Пришлите их одним сообщением, например <i>github.com/yourname</i>.
    Сейчас: { $chosen }
pf_links_clear = Убрать ссылки
pf_clear = Очистить
pf_skip_rest = Заполню потом ⏭
pf_time_zone_unknown =
    Не знаю город «{ $typed }». Попробуйте большой город рядом (например, <i>Москва</i>) или пришлите смещение от UTC, например <i>UTC+3</i> или <i>-4</i>. Кнопки выше тоже работают.
pf_city_invalid = Название города — от 1 до { $max } символов. Попробуйте ещё раз.
pf_link_not_a_link = Не добавлено: { $link } — это не похоже на адрес сайта. Пришлите в виде <i>github.com/yourname</i>.
pf_link_unsafe = Не добавлено: { $link }. На карточку можно поставить только обычную веб-страницу (https).
pf_link_too_long = Не добавлено: { $link } — ссылка длиннее { $max } символов.
pf_link_repeated = Уже есть на карточке: { $links }.
pf_links_over_limit = Не добавлено: { $links }. На карточке помещается до { $max } ссылок; уберите их, чтобы добавить другие.
pf_edit_hours = Время
pf_edit_time_zone = Часовой пояс
pf_edit_work_mode = Удалённо / на месте
pf_edit_focus = Направление
pf_edit_needs = Кто нужен
pf_edit_stage = Стадия
pf_edit_languages = Языки
pf_edit_links = Ссылки
action_preferences = Предпочтения
pf_pref_name = { $pref ->
    [commitment] Время
    [time_zone] Часовой пояс
    [work_mode] Удалённо / на месте
    [role] Направление
    [stage] Стадия
   *[language] Язык
}
pf_level_value = { $value ->
    [must] обязательно
    [nice] желательно
   *[dont_care] неважно
}
pf_prefs_intro =
    Что для вас важно в людях, которых вы ищете? Для каждого пункта выберите: обязательно (только те, кто подходит), желательно (они будут выше) или неважно.
pf_pref_detail = <b>{ $pref }</b>: { $level }.
pf_pref_time_zone_hours = Не дальше ± { $hours } ч от моего часового пояса.
pf_pref_roles = Какие направления: { $chosen }
pf_pref_stages = Какие стадии: { $chosen }
pf_pref_same = Совпадает с моим, если указано у обоих.
pf_hours_within = ± { $hours } ч
pf_offer =
    Теперь о себе можно рассказать больше: время, часовой пояс, удалённо или на месте, направление, языки и ссылки. Так вас легче найдут те, кто подходит.
pf_offer_complete = Дополнить профиль
pf_offer_later = Не сейчас
pf_offer_later_answer = Хорошо. В /profile это можно сделать когда угодно.
pf_pref_time_zone_unset = Ваш часовой пояс пока не указан: добавьте его в «Изменить профиль» → «Часовой пояс».



## Saved and nudge
cmd_saved = Сохранённые профили
action_save = ☆ Сохранить
saved_added = Сохранено: профиль есть в /saved.
saved_already = Этот профиль уже сохранён: он есть в /saved.
saved_title = Сохранённые профили ({ $count }):
saved_more = { $count ->
    [one] …и ещё { $count } профиль: уберите кого-нибудь из списка, чтобы его увидеть.
    [few] …и ещё { $count } профиля: уберите кого-нибудь из списка, чтобы их увидеть.
   *[many] …и ещё { $count } профилей: уберите кого-нибудь из списка, чтобы их увидеть.
}
saved_empty = Вы пока никого не сохранили. Нажмите «☆ Сохранить» под карточкой в /search, чтобы вернуться к ней позже.
saved_invite = { $n }. { $action }
saved_remove = Убрать { $n }
saved_removed = Убрано из сохранённых.
saved_not_listed = Этого профиля уже нет среди сохранённых.
still_looking =
    Вы ещё в поиске? Вас давно не было: через { $days ->
        [one] { $days } день
        [few] { $days } дня
       *[many] { $days } дней
    } поиск приостановится, и ваш профиль перестанут видеть.
action_still_looking = Да, продолжаю
action_pause_now = Приостановить
still_looking_kept = ✓ Отлично, вы остаётесь в поиске.
still_looking_paused = ⏸ Поиск приостановлен: ваш профиль сейчас никто не видит. Чтобы вернуться: /profile → «Снова искать».
still_looking_was_paused = Поиск уже приостановлен. Чтобы вернуться: /profile → «Снова искать».

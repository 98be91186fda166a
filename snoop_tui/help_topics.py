"""The notes behind `snoop-tui help TOPIC`, in one place, as plain text.

Each text is at most 80 columns wide and has no markup, so the command prints it
as it is and the app's help screen can show the same words.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HelpTopic:
    name: str
    summary: str
    """One line for the list of topics."""
    text: str


CREDENTIAL = """\
The API credential is an organization key (ak_...) or a personal access token
(pat_...). snoop-tui takes the first of these that is set:

  ANYREACH_TOKEN_FILE   a file that holds the credential
  ANYREACH_TOKEN        the credential itself
  token_file, token     in the config file (`snoop-tui help config`)

Never from the command line: a flag would show in `ps` to every user of the
machine and stay in your shell history. A file that holds the credential
(the token file, or a config file with `token`) must be readable by you only:
chmod 600 FILE, as ssh insists for its keys.

A pat_ token also needs its organization: ANYREACH_ORG (or `org`, or --org).

What the credential may do depends on its scopes:

  listen to a call        conversations:read_sensitive or conversations:manage
  the board, `list`       conversations:read (or either scope above)

`snoop-tui doctor` checks that the credential is found, that the platform
accepts it and that it may read conversations. Only a real call proves that it
may listen: `snoop-tui watch ID` on a live call."""

IDS = """\
Every call is a conversation on the AnyReach platform, named by an id made of
letters, digits, '_', '-', '.' and ':' (for example conv_7f3a9c).

Where to find one:

  the board         `snoop-tui` lists the live calls; Enter listens in on the
                    highlighted one, no id needed
  snoop-tui list    prints the live calls with their ids, newest first
                    (`--json` for scripts)
  the platform      the AnyReach inbox lists the same conversations, each
                    with its id

Then: snoop-tui watch ID (or just snoop-tui ID). Only a live call (triggered,
ringing or in progress) can be listened to; an ended one answers "not active"."""

AUDIO = """\
A jump box usually has no sound card: snoop-tui then shows the transcript and
Listen says there is no audio output. To hear the call on your own machine,
forward your local sound server over SSH.

On your machine (PulseAudio, or PipeWire with pipewire-pulse):

  pactl load-module module-native-protocol-tcp \\
      listen=127.0.0.1 port=4713 auth-anonymous=1
  ssh -R 4713:127.0.0.1:4713 jumpbox

On the jump box (needs libportaudio2 and libasound2-plugins):

  export PULSE_SERVER=tcp:127.0.0.1:4713
  snoop-tui devices     # the "pulse"/"default" device now plays on your machine

Choose a device with --output-device NAME-OR-INDEX, or `output_device` in the
config file. `snoop-tui doctor` checks PortAudio, the output devices and that
PULSE_SERVER answers."""

CONFIG = """\
Each setting comes from the first of: a flag, an environment variable, the
config file, the default. The config file is TOML, at
$XDG_CONFIG_HOME/snoop-tui/config.toml (~/.config/snoop-tui/config.toml when
XDG_CONFIG_HOME is unset), or the file named by ANYREACH_CONFIG.

  config file    environment          flag              default
  api_url        ANYREACH_API_URL     --api-url         https://api.anyreach.ai
  token          ANYREACH_TOKEN       never a flag
  token_file     ANYREACH_TOKEN_FILE  never a flag
  org            ANYREACH_ORG         --org             (pat_ tokens only)
  timeout        ANYREACH_TIMEOUT     --timeout         10 seconds
  board_refresh                       --refresh         3 seconds (1 to 300)
  output_device                       --output-device   the system default
  alerts                              --alert PHRASE    none
  bell                                                  true
  save_dir                            --save PATH       the current folder

For example:

  api_url = "https://api.anyreach.ai"
  token_file = "~/.config/anyreach/token"
  board_refresh = 5
  alerts = ["cancel my account", "lawyer"]

A config file that holds `token` must be readable by you only (chmod 600). A
key snoop-tui does not know is reported on stderr, with the nearest known one.
--log-file PATH writes a debug log (mode 0600, secrets redacted).
SNOOP_LIVEKIT_SERVER names the livekit-server binary `snoop-tui demo` runs."""

KEYS = """\
The board (snoop-tui, or snoop-tui board):

  up / down, k / j      move
  PageUp / PageDown     a page up / down
  Home / End            the first / last call
  Enter                 listen in on the highlighted call
  /                     filter by agent, caller or number
  Esc                   clear the filter
  r                     refresh now
  q                     quit

The panel (one call):

  l                     Listen: play the call's audio (agent and caller)
  m                     Mute: stop the audio; the transcript keeps streaming
  x (or q)              Stop: leave the call; back to the board if opened there
  f                     focus: hear both sides, the agent only, the caller only
  + / -                 volume up / down, in 10% steps
  i                     show or hide the health readout
  /                     search the whole call
  n / N                 the next / previous match
  Esc                   close the search (never the call)
  a                     go to the next alert (a phrase from `alerts`)
  t                     time into the call, or clock time
  c                     copy the match, or the last line
  s                     save the transcript (Markdown, JSON)
  End                   back to the newest line

Anywhere:

  ? (or h, F1)          the keys and notes of the screen you are on
  Ctrl+P                the command palette
  Ctrl+C                quit, leaving any call"""

TOPICS: dict[str, HelpTopic] = {
    topic.name: topic
    for topic in (
        HelpTopic("credential", "where the API credential comes from; its scopes", CREDENTIAL),
        HelpTopic("ids", "where conversation ids come from", IDS),
        HelpTopic("audio", "hearing a call over SSH", AUDIO),
        HelpTopic("config", "the config file, environment variables and flags", CONFIG),
        HelpTopic("keys", "the keys of the board and the panel", KEYS),
    )
}


def topic_list() -> str:
    """What `snoop-tui help` prints: each topic and what it is about."""
    width = max(len(name) for name in TOPICS)
    lines = ["Help topics (snoop-tui help TOPIC):", ""]
    lines += [f"  {topic.name:<{width}}  {topic.summary}" for topic in TOPICS.values()]
    lines += [
        "",
        "Also: snoop-tui COMMAND --help for a command's flags, and snoop-tui doctor",
        "when something does not work.",
    ]
    return "\n".join(lines)

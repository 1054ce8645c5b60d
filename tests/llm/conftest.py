from support.model_fixtures import chat_request, make_client, openai_server, sleeps  # noqa: F401 - fixtures

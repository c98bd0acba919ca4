from django.core.management.base import BaseCommand

from members.api_keys import api_key_create, store_get_or_create


class Command(BaseCommand):
    help = "Create an API key for a store (creating the store if needed); the key is the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("store", help="The store's name")
        parser.add_argument("--name", default="", help="A label for the key")

    def handle(self, *args, store: str, name: str, **options) -> None:
        store_row = store_get_or_create(name=store)
        _, raw_key = api_key_create(store=store_row, name=name)
        self.stdout.write(f"Store: {store_row.name} ({store_row.code}). The key is shown once:")
        self.stdout.write(raw_key)

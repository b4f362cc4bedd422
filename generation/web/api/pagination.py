"""Page numbers as the schema says: an integer from 1; anything else (empty, "last", "abc") is 404."""
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination


MAX_PAGE_DIGITS = 18  # within a 64-bit integer


class StrictPageNumberPagination(PageNumberPagination):
    last_page_strings = ()  # DRF's "?page=last" is not in the schema's integer

    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param)
        if number is None:
            return 1
        # no int() of a 5000-digit number (Python refuses past 4300 digits: a 500); no page is that far
        if not number.isascii() or not number.isdigit() or len(number) > MAX_PAGE_DIGITS or int(number) < 1:
            raise NotFound(self.invalid_page_message.format(page_number=number, message="not a page number"))
        return number

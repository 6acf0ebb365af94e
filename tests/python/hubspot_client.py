"""HubSpot's own Python client (PyPI `hubspot-api-client`) against `leakproof mocks serve`.

Searches a contact by email, reads it with properties, updates a property and
reads the new value back, all through the official client pointed at the mock
with `host=`. Any failed step raises, so the process exits non-zero.

Usage: python hubspot_client.py CRM_BASE_URL TOKEN
"""

import sys

from hubspot import HubSpot
from hubspot.crm.contacts import (
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
)


def main(base_url: str, token: str) -> None:
    client = HubSpot(access_token=token, host=base_url)
    contacts = client.crm.contacts

    # Any contact, to learn an address that exists in the fixtures.
    first = contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[], properties=["email"], sorts=[], limit=1, after="0"
        )
    )
    assert first.total >= 1, f"the mock CRM holds no contacts: {first}"
    email = first.results[0].properties["email"]
    print(f"step 1 ok: {first.total} contacts; using {email}")

    # Search by email, as an agent identifies a customer.
    found = contacts.search_api.do_search(
        public_object_search_request=PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name="email", operator="EQ", value=email.upper())])
            ],
            properties=["email", "firstname", "phone"],
            sorts=[],
            limit=2,
            after="0",
        )
    )
    assert found.total == 1, f"search by email found {found.total}"
    contact = found.results[0]
    assert contact.properties["email"] == email
    print(f"step 2 ok: search by email found contact {contact.id}")

    # Read it with properties (the client sends them as repeated query parameters).
    read = contacts.basic_api.get_by_id(contact_id=contact.id, properties=["email", "phone", "firstname"])
    assert read.id == contact.id and read.properties["email"] == email
    assert read.created_at is not None and read.updated_at is not None
    print(f"step 3 ok: read {sorted(read.properties)}")

    # Update a property and read the new value back.
    new_phone = "+44 117 496 0123"
    updated = contacts.basic_api.update(
        contact_id=contact.id,
        simple_public_object_input=SimplePublicObjectInput(properties={"phone": new_phone}),
    )
    assert updated.properties["phone"] == new_phone, updated
    again = contacts.basic_api.get_by_id(contact_id=contact.id, properties=["phone"])
    assert again.properties["phone"] == new_phone, again
    print("step 4 ok: update read back")

    # A contact that does not exist is HubSpot's 404, which the client raises.
    try:
        contacts.basic_api.get_by_id(contact_id="999999999")
    except Exception as error:  # the client's ApiException
        assert getattr(error, "status", None) == 404, error
        print("step 5 ok: missing contact is a 404")
    else:
        raise AssertionError("a missing contact was returned")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

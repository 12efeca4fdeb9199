//! vCard 3.0 (RFC 2426, the version Outlook, macOS and Android all import) from the `pim`
//! records: names, company, every e-mail, phone and postal address with its type, birthday,
//! notes, categories, web page, instant-messaging addresses, manager and assistant in the
//! fields Outlook writes, and the photo inline.

use pim::Contact;

use crate::content_line::{escape, push_line};

/// vCard TYPE parameters for an Exchange phone slot.
fn phone_types(label: &str) -> &'static str {
    match label {
        "MobilePhone" => "CELL,VOICE",
        "HomePhone" | "HomePhone2" => "HOME,VOICE",
        "HomeFax" => "HOME,FAX",
        "BusinessFax" | "OtherFax" => "WORK,FAX",
        "Pager" => "PAGER",
        "CarPhone" => "CAR,VOICE",
        "Isdn" => "ISDN",
        "PrimaryPhone" => "PREF,VOICE",
        "OtherTelephone" => "VOICE",
        _ => "WORK,VOICE",
    }
}

fn address_type(label: &str) -> &'static str {
    match label {
        "Home" => "HOME",
        "Business" => "WORK",
        _ => "POSTAL",
    }
}

/// Structured values (N, ORG, ADR) separate their parts with `;`, so each part is escaped alone.
fn parts(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| escape(v))
        .collect::<Vec<_>>()
        .join(";")
}

/// One contact as a vCard.
pub fn card(contact: &Contact) -> String {
    let mut out = String::new();
    push_line(&mut out, "BEGIN:VCARD");
    push_line(&mut out, "VERSION:3.0");
    push_line(&mut out, &format!("FN:{}", escape(&contact.shown_name())));
    push_line(
        &mut out,
        &format!(
            "N:{}",
            parts(&[
                &contact.surname,
                &contact.given_name,
                &contact.middle_name,
                &contact.title,
                &contact.suffix,
            ])
        ),
    );
    let text = |out: &mut String, name: &str, value: &str| {
        if !value.trim().is_empty() {
            push_line(out, &format!("{name}:{}", escape(value.trim())));
        }
    };
    text(&mut out, "NICKNAME", &contact.nickname);
    if !contact.company.is_empty() || !contact.department.is_empty() {
        push_line(
            &mut out,
            &format!("ORG:{}", parts(&[&contact.company, &contact.department])),
        );
    }
    text(&mut out, "TITLE", &contact.job_title);
    for email in contact
        .emails
        .iter()
        .filter(|e| !e.address.trim().is_empty())
    {
        push_line(
            &mut out,
            &format!("EMAIL;TYPE=INTERNET:{}", escape(email.address.trim())),
        );
    }
    for phone in contact
        .phones
        .iter()
        .filter(|p| !p.number.trim().is_empty())
    {
        push_line(
            &mut out,
            &format!(
                "TEL;TYPE={}:{}",
                phone_types(&phone.label),
                escape(phone.number.trim())
            ),
        );
    }
    for address in &contact.addresses {
        push_line(
            &mut out,
            &format!(
                "ADR;TYPE={}:{}",
                address_type(&address.label),
                parts(&[
                    "",
                    "",
                    &address.street,
                    &address.city,
                    &address.state,
                    &address.postal_code,
                    &address.country,
                ])
            ),
        );
    }
    if let Some(birthday) = contact.birthday {
        push_line(&mut out, &format!("BDAY:{}", birthday.format("%Y-%m-%d")));
    }
    text(&mut out, "URL", &contact.web_page);
    for im in &contact.im_addresses {
        text(&mut out, "X-MS-IMADDRESS", im);
    }
    text(&mut out, "X-MS-MANAGER", &contact.manager);
    text(&mut out, "X-MS-ASSISTANT", &contact.assistant);
    text(&mut out, "X-MS-OFFICE", &contact.office);
    if !contact.categories.is_empty() {
        let list: Vec<String> = contact.categories.iter().map(|c| escape(c)).collect();
        push_line(&mut out, &format!("CATEGORIES:{}", list.join(",")));
    }
    text(&mut out, "NOTE", &contact.notes);
    if let Some(photo) = &contact.photo {
        let kind = photo
            .content_type
            .rsplit('/')
            .next()
            .unwrap_or("jpeg")
            .to_ascii_uppercase();
        let data: String = photo.data.chars().filter(|c| !c.is_whitespace()).collect();
        push_line(&mut out, &format!("PHOTO;ENCODING=b;TYPE={kind}:{data}"));
    }
    push_line(&mut out, "END:VCARD");
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use pim::{ContactEmail, ContactPhone, Photo, PostalAddress};

    use super::*;
    use crate::records::vcf_contact;

    fn emma() -> Contact {
        Contact {
            display_name: "Emma Dubois".into(),
            given_name: "Emma".into(),
            surname: "Dubois".into(),
            middle_name: "Claire".into(),
            title: "Dr.".into(),
            company: "Contoso; Ltd".into(),
            department: "Research, EU".into(),
            job_title: "Lead".into(),
            office: "B 4.12".into(),
            manager: "Jon Li".into(),
            assistant: "Pat Ruiz".into(),
            emails: vec![
                ContactEmail {
                    label: "EmailAddress1".into(),
                    address: "emma@contoso.com".into(),
                    name: "Emma Dubois".into(),
                },
                ContactEmail {
                    label: "EmailAddress2".into(),
                    address: "emma.d@home.example".into(),
                    name: "Emma Dubois".into(),
                },
            ],
            phones: vec![
                ContactPhone {
                    label: "BusinessPhone".into(),
                    number: "+33 1 23 45 67 89".into(),
                },
                ContactPhone {
                    label: "MobilePhone".into(),
                    number: "+33 6 12 34 56 78".into(),
                },
                ContactPhone {
                    label: "HomeFax".into(),
                    number: "+33 1 98 76".into(),
                },
            ],
            addresses: vec![
                PostalAddress {
                    label: "Business".into(),
                    street: "1 Rue de Rivoli".into(),
                    city: "Paris".into(),
                    state: "IDF".into(),
                    postal_code: "75001".into(),
                    country: "France".into(),
                },
                PostalAddress {
                    label: "Home".into(),
                    street: "12 Avenue Foch".into(),
                    city: "Lyon".into(),
                    state: String::new(),
                    postal_code: "69006".into(),
                    country: "France".into(),
                },
            ],
            im_addresses: vec!["sip:emma@contoso.com".into()],
            web_page: "https://contoso.com/emma".into(),
            birthday: NaiveDate::from_ymd_opt(1985, 4, 12),
            notes: "Met at the Lyon fair,\nprefers mornings; speaks FR/EN".into(),
            categories: vec!["Partners".into(), "VIP".into()],
            photo: Some(Photo {
                content_type: "image/png".into(),
                data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==".into(),
            }),
            ..Contact::default()
        }
    }

    #[test]
    fn a_card_reads_back_into_the_same_contact() {
        let written = card(&emma());
        assert!(written.split("\r\n").all(|l| l.len() <= 75), "{written}");
        let back = vcf_contact(written.as_bytes()).expect("our own card reads back");
        let want = emma();
        assert_eq!(back.display_name, want.display_name);
        assert_eq!(
            (
                &back.surname,
                &back.given_name,
                &back.middle_name,
                &back.title
            ),
            (
                &want.surname,
                &want.given_name,
                &want.middle_name,
                &want.title
            )
        );
        assert_eq!(back.job_title, want.job_title);
        assert_eq!(back.emails, want.emails);
        assert_eq!(back.phones, want.phones);
        assert_eq!(back.addresses, want.addresses);
        assert_eq!(back.birthday, want.birthday);
        assert_eq!(back.notes, want.notes);
        assert_eq!(back.categories, want.categories);
        assert_eq!(back.web_page, want.web_page);
        assert_eq!(back.im_addresses, want.im_addresses);
        assert_eq!(back.photo, want.photo);
        assert!(written.contains("ORG:Contoso\\; Ltd;Research\\, EU\r\n"));
        assert!(written.contains("X-MS-MANAGER:Jon Li\r\n"));
    }
}

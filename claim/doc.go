// Package claim computes the SLA credit a provider owes a merchant for a
// calendar month, from the outage record: the merchant's checks under the
// provider's SLA, their outages combined and clipped to the month, the
// maintenance windows left out, the uptime cut to three decimals, the tier
// missed and the credit, with the errors seen as evidence. It renders the
// claim as Markdown, JSON or one printable HTML page.
package claim
